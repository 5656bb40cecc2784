/**
 * POST /webhooks/clerk with payloads signed by the svix library itself:
 * valid ones create, update and delete accounts; tampered and stale ones get
 * 400 and change nothing; a replayed delivery is acknowledged and not applied
 * twice.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { fileClient } from "../support/connect.ts";
import { Webhook } from "svix";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { testDeployment } from "../support/test-deployment.ts";

const platformOwner = fileClient(() => testDeployment().databases.platform.migrationUrl);

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const run = randomUUID().slice(0, 8);
let api: TestApi;
let hookUrl: string;

beforeAll(async () => {
  api = await startTestApi({ CLERK_WEBHOOK_SECRET: secret });
  hookUrl = api.server.url.replace(/\/graphql$/, "/webhooks/clerk");
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

function userEvent(type: string, clerkId: string, email: string, first = "Ada") {
  return JSON.stringify({
    type,
    object: "event",
    data: { id: clerkId, first_name: first, last_name: "Lovelace", primary_email_address_id: "idn_1", email_addresses: [{ id: "idn_1", email_address: email }] },
  });
}

function signed(payload: string, at = new Date(), id = `msg_${randomUUID()}`, signer = new Webhook(secret)) {
  return { id, headers: { "svix-id": id, "svix-timestamp": String(Math.floor(at.getTime() / 1000)), "svix-signature": signer.sign(id, at, payload) } };
}

async function deliver(payload: string, headers: Record<string, string>) {
  const response = await fetch(hookUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: payload });
  const text = await response.text();
  if (!text) throw new Error(`empty ${response.status} response`);
  return { status: response.status, body: JSON.parse(text) as { status?: string; error?: string } };
}

async function account(clerkId: string) {
  const { rows } = await platformOwner().query("select id, email, display_name from platform.users where clerk_id = $1", [clerkId]);
  return rows[0] as { id: string; email: string; display_name: string } | undefined;
}

test("user.created and user.updated, signed by svix, create and update the account like a first sign-in", async () => {
  const clerkId = `user_hook_${run}`;
  const created = userEvent("user.created", clerkId, `hook-${run}@example.com`);
  const first = signed(created);
  expect(await deliver(created, first.headers)).toEqual({ status: 200, body: { status: "applied" } });
  const user = await account(clerkId);
  expect(user).toMatchObject({ email: `hook-${run}@example.com`, display_name: "Ada Lovelace" });

  // Replayed: acknowledged, not applied again (an update in between is not undone).
  const updated = userEvent("user.updated", clerkId, `hook-${run}@example.com`, "Augusta");
  expect((await deliver(updated, signed(updated).headers)).status).toBe(200);
  expect((await account(clerkId))!.display_name).toBe("Augusta Lovelace");
  const stale = userEvent("user.updated", clerkId, `hook-${run}@example.com`, "Old");
  const delivery = signed(stale);
  expect(await deliver(stale, delivery.headers)).toEqual({ status: 200, body: { status: "applied" } });
  expect((await account(clerkId))!.display_name).toBe("Old Lovelace");
  await platformOwner().query("update platform.users set display_name = 'Current' where clerk_id = $1", [clerkId]);
  expect(await deliver(stale, delivery.headers)).toEqual({ status: 200, body: { status: "duplicate" } });
  expect((await account(clerkId))!.display_name).toBe("Current");
});

test("tampered, stale, unsigned or foreign-signed deliveries get 400 and change nothing", async () => {
  const clerkId = `user_forged_${run}`;
  const payload = userEvent("user.created", clerkId, `forged-${run}@example.com`);
  const good = signed(payload);
  const tampered = payload.replace("Ada", "Eve");
  expect((await deliver(tampered, good.headers)).status).toBe(400);
  const old = signed(payload, new Date(Date.now() - 10 * 60_000));
  expect((await deliver(payload, old.headers)).status).toBe(400);
  expect((await deliver(payload, {})).status).toBe(400);
  const foreign = signed(payload, new Date(), undefined, new Webhook(`whsec_${randomBytes(24).toString("base64")}`));
  expect((await deliver(payload, foreign.headers)).status).toBe(400);
  expect(await account(clerkId)).toBeUndefined();
  const { rows } = await platformOwner().query("select count(*)::int as n from platform_backend.webhook_deliveries where delivery_id = any($1)", [[good.id, old.id, foreign.id]]);
  expect(rows[0].n).toBe(0);
});

test("user.deleted starts the erasure once, however often it is delivered", async () => {
  const clerkId = `user_gone_${run}`;
  const created = userEvent("user.created", clerkId, `gone-${run}@example.com`);
  expect((await deliver(created, signed(created).headers)).status).toBe(200);
  const { id } = (await account(clerkId))!;
  const deleted = JSON.stringify({ type: "user.deleted", object: "event", data: { id: clerkId, deleted: true } });
  const delivery = signed(deleted);
  expect(await deliver(deleted, delivery.headers)).toEqual({ status: 200, body: { status: "applied" } });
  expect(await deliver(deleted, delivery.headers)).toEqual({ status: 200, body: { status: "duplicate" } });
  // Clerk may also send it again as a new delivery: acknowledged, nothing new.
  expect(await deliver(deleted, signed(deleted).headers)).toEqual({ status: 200, body: { status: "ignored" } });
  const { rows } = await platformOwner().query("select requested_by from platform_backend.account_deletions where user_id = $1", [id]);
  expect(rows).toEqual([{ requested_by: "clerk" }]);
  // Its tokens are refused from now on.
  expect((await api.gql("{ currentUser { rowId } }", {}, api.token({ sub: clerkId }))).status).toBe(401);
});

test("a user's own display name outlives their next sign-in (a new API process, its account cache empty); only Clerk's user.updated changes it", async () => {
  const clerkId = `user_rename_${run}`;
  const token = api.token({ sub: clerkId, name: "Token Name" });
  const me = await api.gql("{ currentUser { rowId displayName } }", {}, token);
  expect(me.data.currentUser.displayName).toBe("Token Name"); // the claim fills the empty name at registration
  const edited = await api.gql(`mutation ($id: UUID!) { updateUser(input: { rowId: $id, patch: { displayName: "Chosen Name" } }) { user { displayName } } }`, { id: me.data.currentUser.rowId }, token);
  expect(edited.data.updateUser.user.displayName).toBe("Chosen Name");

  // Another API process resolves the account afresh from a token still carrying the old name claim.
  const other = await startTestApi({ CLERK_WEBHOOK_SECRET: secret });
  try {
    const again = await other.gql("{ currentUser { displayName } }", {}, other.token({ sub: clerkId, name: "Token Name" }));
    expect(again.data.currentUser.displayName).toBe("Chosen Name");
  } finally {
    await other.stop();
  }
  expect((await account(clerkId))!.display_name).toBe("Chosen Name");

  // Clerk says the name changed: that is the way a name changes from Clerk.
  const updated = userEvent("user.updated", clerkId, `rename-${run}@example.com`, "Renamed");
  expect(await deliver(updated, signed(updated).headers)).toEqual({ status: 200, body: { status: "applied" } });
  expect((await account(clerkId))!.display_name).toBe("Renamed Lovelace");
});
