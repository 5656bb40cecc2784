/**
 * Idempotent retries (docs/retries.md), with the real API process on a server
 * of the test's own: while the API's backends are terminated every 50 ms, 8
 * clients create projects with an Idempotency-Key each and retry every 503
 * after its Retry-After; afterwards every create exists exactly once. Also:
 * the same key with another body is refused, a replay returns the stored
 * answer and writes nothing, a key in use is refused with 409, keys are per
 * user, a keyed request may use one database, and expired keys are forgotten
 * and deleted.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { connect } from "../support/connect.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { createDatabases } from "../../src/db/databases.ts";
import { expireIdempotencyKeys } from "../../src/services/idempotency.ts";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { giveUnlimitedPlan } from "../support/unlimited-plan.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";

let server: OwnServer;
let api: ApiProcess;

beforeAll(async () => {
  server = await startOwnServer();
  api = await startApiProcess({ ...server.env, API_RETRY_AFTER: "1", WORKER_IN_PROCESS: "false" });
}, 120_000);

afterAll(async () => {
  await api?.kill();
  await server?.destroy();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CREATE = `mutation($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { rowId projectName } } }`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } | undefined;
}

async function keyed(token: string | undefined, key: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: Answer["body"];
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

async function ownerRows<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  return connect(url, async (client) => (await client.query<T>(sql, values)).rows);
}

async function signedUpUser(label: string): Promise<string> {
  const clerkId = `user_idem_${label}_${randomUUID().slice(0, 8)}`;
  const token = api.token(clerkId);
  expect((await gql(api.url, "{ currentUser { clerkId } }", token)).status).toBe(200);
  await giveUnlimitedPlan(server.ownerUrls, clerkId);
  return token;
}

async function projectCount(name: string): Promise<number> {
  const rows = await ownerRows<{ n: number }>(server.ownerUrls.userData, "select count(*)::int as n from user_data.user_projects where project_name = $1", [name]);
  return rows[0]!.n;
}

describe("retries under terminated backends", () => {
  test("8 clients creating with keys and retrying every 503: every create exists exactly once", async () => {
    const run = randomUUID().slice(0, 8);
    const clients = 8;
    const perClient = 15;
    const tokens = await Promise.all(Array.from({ length: clients }, (_, c) => signedUpUser(`load${c}`)));
    const tally = { attempts: 0, retried: 0, statuses: new Map<number, number>(), replayed: 0, gaveUp: [] as string[] };
    const deadline = Date.now() + 150_000;

    let loading = true;
    // Every 50 ms, terminates one of the API's busy backends (running a statement or inside a
    // transaction: a request's), one in its COMMIT round trip first, where the operator saw
    // commits reported as failures, else one at random, while the clients run, bounded by the deadline; in
    // storms of a second with half a second of calm between them, so that on a loaded 2-core machine,
    // where a request takes hundreds of milliseconds, requests do get through between storms.
    const killer = (async () => {
      const admin = new pg.Client(server.adminUrl);
      await admin.connect();
      let rounds = 0;
      try {
        while (loading && Date.now() < deadline) {
          await admin.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = 'alwrity-api' and state <> 'idle' and pid <> pg_backend_pid()
              order by query ilike 'commit%' desc, random() limit 1`,
          );
          rounds++;
          await sleep(rounds % 20 === 0 ? 500 : 50);
        }
      } finally {
        await admin.end();
      }
      return rounds;
    })();

    const names = await Promise.all(
      tokens.map(async (token, c) => {
        const made: string[] = [];
        for (let i = 0; i < perClient; i++) {
          const name = `idem-${run}-c${c}-${i}`;
          const key = randomUUID();
          made.push(name);
          for (let attempt = 0; ; attempt++) {
            if (attempt >= 100 || Date.now() > deadline) {
              tally.gaveUp.push(name);
              break;
            }
            tally.attempts++;
            if (attempt > 0) tally.retried++;
            const answer = await keyed(token, key, CREATE, { name });
            tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
            if (answer.status === 200) {
              expect(answer.body?.errors, answer.text).toBeUndefined();
              expect(answer.body?.data.createProject.project.projectName).toBe(name);
              if (answer.headers.get("idempotent-replayed") === "true") tally.replayed++;
              break;
            }
            // Only honest, retryable refusals: 503 or 429 with Retry-After, or 409 (the first attempt still running).
            expect([409, 429, 503], answer.text).toContain(answer.status);
            const wait = Number(answer.headers.get("retry-after") ?? "0.2");
            await sleep(wait * 1000);
          }
        }
        return made;
      }),
    ).finally(() => (loading = false));
    const rounds = await killer;

    const all = names.flat();
    const counted = await ownerRows<{ project_name: string; n: number }>(
      server.ownerUrls.userData,
      "select project_name, count(*)::int as n from user_data.user_projects where project_name like $1 group by 1",
      [`idem-${run}-%`],
    );
    const counts = new Map(counted.map((r) => [r.project_name, r.n]));
    const missing = all.filter((name) => !counts.has(name));
    const duplicated = all.filter((name) => (counts.get(name) ?? 0) > 1);
    console.log(
      `idempotency load: ${all.length} creates, ${tally.attempts} attempts (${tally.retried} retries), statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}, ` +
        `${tally.replayed} answered from a stored key (committed, then reported 503), ${rounds} termination rounds; ` +
        `missing ${missing.length}, duplicated ${duplicated.length}, gave up ${tally.gaveUp.length}`,
    );
    expect(api.alive(), api.output().slice(-2000)).toBe(true);
    expect(tally.gaveUp, "creates that never got a 200").toEqual([]);
    expect(tally.statuses.get(503) ?? 0, "the terminations were felt").toBeGreaterThan(0);
    expect(missing, "acknowledged creates that are missing").toEqual([]);
    expect(duplicated, "creates that happened more than once").toEqual([]);
  }, 240_000);
});

describe("one key, one request", () => {
  test("a replay returns the stored answer, marked Idempotent-Replayed, and creates no second row", async () => {
    const token = await signedUpUser("replay");
    const name = `replay-${randomUUID()}`;
    const key = randomUUID();
    const first = await keyed(token, key, CREATE, { name });
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await keyed(token, key, CREATE, { name });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect(await projectCount(name)).toBe(1);
  }, 30_000);

  test("the same request spelled differently (key order, spacing) is the same request", async () => {
    const token = await signedUpUser("canonical");
    const name = `canonical-${randomUUID()}`;
    const key = randomUUID();
    expect((await keyed(token, key, CREATE, { name })).status).toBe(200);
    const response = await fetch(api.url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key, authorization: `Bearer ${token}` },
      body: `{ "variables": { "name": ${JSON.stringify(name)} },  "query": ${JSON.stringify(CREATE)} }`,
    });
    expect(response.headers.get("idempotent-replayed")).toBe("true");
    expect(await projectCount(name)).toBe(1);
  }, 30_000);

  test("a request that partly failed for good is stored as answered: the create once, the error replayed", async () => {
    const token = await signedUpUser("partial");
    const key = randomUUID();
    const name = `partial-${randomUUID()}`;
    const both = `mutation($name: String!, $missing: UUID!) {
      created: createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { projectName } }
      deleted: deleteProject(input: { rowId: $missing }) { project { projectName } }
    }`;
    const variables = { name, missing: randomUUID() };
    const first = await keyed(token, key, both, variables);
    expect(first.status, first.text).toBe(200);
    expect(first.body!.data.created.project.projectName).toBe(name);
    expect(first.body!.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    const again = await keyed(token, key, both, variables);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect(await projectCount(name)).toBe(1);
  }, 30_000);

  test("the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED, and nothing written", async () => {
    const token = await signedUpUser("reuse");
    const key = randomUUID();
    const name = `reuse-${randomUUID()}`;
    expect((await keyed(token, key, CREATE, { name })).status).toBe(200);
    const other = `${name}-other`;
    const answer = await keyed(token, key, CREATE, { name: other });
    expect(answer.status, answer.text).toBe(422);
    expect(answer.body!.errors![0]!.extensions!.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(answer.body!.errors![0]!.message).toMatch(/Idempotency-Key was already used for a different request/);
    expect(await projectCount(other)).toBe(0);
  }, 30_000);

  test("a repeat while the first is still running: 409 IDEMPOTENCY_KEY_IN_USE; afterwards the replay", async () => {
    const token = await signedUpUser("busy");
    const key = randomUUID();
    const name = `busy-${randomUUID()}`;
    // The first request waits on a lock the test holds, with its key claimed.
    const locker = new pg.Client(server.ownerUrls.userData);
    await locker.connect();
    try {
      await locker.query("begin; lock table user_data.user_projects in access exclusive mode");
      const first = keyed(token, key, CREATE, { name });
      for (let waited = 0; waited < 10_000; waited += 50) {
        const { rows } = await locker.query<{ n: number }>("select count(*)::int as n from pg_locks where relation = 'user_data.user_projects'::regclass and not granted");
        if (rows[0]!.n >= 1) break;
        await sleep(50);
      }
      const second = await keyed(token, key, CREATE, { name });
      expect(second.status, second.text).toBe(409);
      expect(second.body!.errors![0]!.extensions!.code).toBe("IDEMPOTENCY_KEY_IN_USE");
      await locker.query("rollback");
      expect((await first).status).toBe(200);
    } finally {
      await locker.end();
    }
    const third = await keyed(token, key, CREATE, { name });
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(await projectCount(name)).toBe(1);
  }, 30_000);

  test("keys are per user: user B's request with user A's key runs as B's own", async () => {
    const [a, b] = [await signedUpUser("alice"), await signedUpUser("bob")];
    const key = randomUUID();
    const name = `shared-key-${randomUUID()}`;
    expect((await keyed(a, key, CREATE, { name })).status).toBe(200);
    const answer = await keyed(b, key, CREATE, { name });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get("idempotent-replayed")).toBeNull();
    expect(await projectCount(name)).toBe(2);
  }, 30_000);

  test("a keyed request that uses both databases is refused (422) and commits nothing", async () => {
    const token = await signedUpUser("two");
    const name = `two-${randomUUID()}`;
    const answer = await keyed(
      token,
      randomUUID(),
      `mutation($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { projectName } query { currentUser { clerkId } } } }`,
      { name },
    );
    expect(answer.status, answer.text).toBe(422);
    expect(answer.body!.errors![0]!.extensions!.code).toBe("IDEMPOTENCY_KEY_TWO_DATABASES");
    expect(await projectCount(name)).toBe(0);
  }, 30_000);

  test("a key needs a signed-in user; a malformed key is refused", async () => {
    const anonymous = await keyed(undefined, randomUUID(), "{ __typename }");
    expect(anonymous.status).toBe(400);
    expect(anonymous.body!.errors![0]!.extensions!.code).toBe("IDEMPOTENCY_KEY_NEEDS_SIGN_IN");
    const token = await signedUpUser("malformed");
    const malformed = await keyed(token, "x".repeat(256), "{ __typename }");
    expect(malformed.status).toBe(400);
    expect(malformed.body!.errors![0]!.extensions!.code).toBe("IDEMPOTENCY_KEY_INVALID");
  }, 30_000);
});

describe("expiry", () => {
  test("an expired key is forgotten (the request runs afresh) and the expiry job deletes it", async () => {
    const token = await signedUpUser("expiry");
    const key = randomUUID();
    const name = `expiry-${randomUUID()}`;
    expect((await keyed(token, key, CREATE, { name })).status).toBe(200);
    const age = "update idempotency.idempotency_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 day' where idempotency_key = $1";
    await ownerRows(server.ownerUrls.userData, age, [key]);
    // Past its time, the key no longer binds: another body with it runs.
    const again = await keyed(token, key, CREATE, { name: `${name}-2` });
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    await ownerRows(server.ownerUrls.userData, age, [key]);
    const live = randomUUID();
    expect((await keyed(token, live, CREATE, { name: `${name}-3` })).status).toBe(200);

    const config = loadConfig({ ENVIRONMENT: "test", ...server.env });
    const deployment = await openDeployment(config, { provision: false });
    const databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
    try {
      const deleted = await expireIdempotencyKeys(databases, { batch: 1, maxBatches: 1000 });
      expect(deleted.userData).toBeGreaterThanOrEqual(1);
    } finally {
      await databases.close();
    }
    const left = await ownerRows<{ idempotency_key: string }>(server.ownerUrls.userData, "select idempotency_key from idempotency.idempotency_keys where idempotency_key = any($1)", [[key, live]]);
    expect(left.map((r) => r.idempotency_key)).toEqual([live]);
  }, 60_000);
});
