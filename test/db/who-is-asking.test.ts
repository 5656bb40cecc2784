/**
 * One rule turns who is asking into a transaction's settings (src/db/asking.ts),
 * and the GraphQL API and the services both apply it through the same
 * transaction (src/db/role-transaction.ts). Here every connection of the
 * API's login starts with a session-level app.current_user_id (a role
 * default, as a careless DBA might set): nobody's requests must see it, on
 * either path, and those connections are not mistaken for leftovers. A
 * GraphQL request that leaves a session-level user id behind gets its
 * connection closed, as a service's does (test/db/user-context.test.ts).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiServer, type ApiServer } from "../../src/api/http/server.ts";
import { loadConfig } from "../../src/config.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import type { Session } from "../../src/db/session.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { connect } from "../support/connect.ts";

const SESSION_USER_ID = "0d6c1f4e-2b3a-4c5d-8e9f-a0b1c2d3e4f5";
const LEAKED_USER_ID = "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3f2e1d0";
const endpoints = ownDeployment();
const discarded: Array<Record<string, unknown> | undefined> = [];
let databases: Databases;
let api: ApiServer;

async function asAdmin(database: string, statements: string[]): Promise<void> {
  const url = new URL(testDeployment().adminUrl);
  url.pathname = `/${database}`;
  await connect(url.toString(), async (client) => {
    for (const statement of statements) await client.query(statement);
  });
}

beforeAll(async () => {
  const e = endpoints();
  const authenticator = e.topology.role("authenticator").name;
  for (const db of [e.platform, e.userData]) {
    await asAdmin(db.name, [`alter role ${authenticator} in database ${db.name} set app.current_user_id = '${SESSION_USER_ID}'`]);
  }
  // A query field that shows the setting as a request sees it (only in this file's own deployment).
  await asAdmin(e.platform.name, [
    `create function platform.seen_user_id() returns text language sql stable as $$ select current_setting('app.current_user_id', true) $$`,
    `grant execute on function platform.seen_user_id() to ${e.topology.role("anonymous").name}`,
    // A careless function that sets the user id for the whole session, not the transaction.
    `create function platform.leak_user_id() returns text language sql volatile as $$ select set_config('app.current_user_id', '${LEAKED_USER_ID}', false) $$`,
    `grant execute on function platform.leak_user_id() to ${e.topology.role("anonymous").name}`,
  ]);
  const config = loadConfig(endpointsEnv(e));
  databases = createDatabases(e, config, { logger: (event, fields) => event === "connection_discarded" && discarded.push(fields) });
  api = await startApiServer(config, databases, e.topology);
});
afterAll(async () => {
  await api?.stop();
  await databases?.close();
});

const seen = async (session: Session) =>
  (await session.query<{ v: string | null }>("select current_setting('app.current_user_id', true) as v")).rows[0]!.v;

test("the API's login really starts its sessions with a user id (so the checks below are not vacuous)", async () => {
  const { rows } = await connect(endpoints().platform.apiUrl, (client) => client.query("select current_setting('app.current_user_id', true) as v"));
  expect(rows[0].v).toBe(SESSION_USER_ID);
});

test("an anonymous GraphQL request runs with an empty app.current_user_id", async () => {
  for (let i = 0; i < 3; i++) {
    const response = await fetch(api.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ seenUserId }" }),
    });
    expect(await response.json()).toEqual({ data: { seenUserId: "" } });
  }
});

test("a service call for no user (platform admin, anonymous) runs with an empty app.current_user_id", async () => {
  for (let i = 0; i < 3; i++) {
    expect(await databases.platform.withPlatformAdmin(seen)).toBe("");
    expect(await databases.platform.withAnonymous(seen)).toBe("");
    expect(await databases.userData.withAnonymous(seen)).toBe("");
  }
});

test("a user's call sees that user, and the session's own value is not taken for a leftover", async () => {
  const user = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  expect(await databases.userData.withUserContext(user, seen)).toBe(user);
  expect(discarded).toEqual([]);
});

test("a GraphQL request whose function leaves a session-level user id gets its connection closed, not reused", async () => {
  const gql = async (query: string) =>
    (await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) })).json();
  expect(await gql(`mutation { leakUserId(input: { clientMutationId: "leak" }) { clientMutationId } }`)).toEqual({ data: { leakUserId: { clientMutationId: "leak" } } });
  expect(discarded).toEqual([expect.objectContaining({ reason: expect.stringContaining("a user id") })]);
  // Whatever connection serves the next request, nobody's id shows through.
  for (let i = 0; i < 3; i++) expect(await gql("{ seenUserId }")).toEqual({ data: { seenUserId: "" } });
});
