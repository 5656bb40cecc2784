/**
 * The API survives its database going away: a restart, terminated backends
 * and a killed server during a bounded concurrent load of reads and writes
 * leave the API process alive; requests succeed again within 5 s of the server
 * accepting connections; every acknowledged write is there exactly once; and
 * while the database is away, or its pool is exhausted, the answer is HTTP 503
 * with Retry-After and a stable code, never a 200 without errors or a 500.
 * Real processes and a server of the test's own (see own-server.ts).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { startMixedLoad, type MixedLoad, type Outcome } from "../support/mixed-load.ts";
import { giveUnlimitedPlan } from "../support/unlimited-plan.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";
import { connect } from "../support/connect.ts";

let server: OwnServer;
let api: ApiProcess;

beforeAll(async () => {
  server = await startOwnServer();
  // One user may take the whole pool here: the exhausted-pool test fills it with one user's requests
  // (a user's share has its own tests, in fair-use.probe.ts).
  // No worker in the process: its jobs share the API's pools, and an entitlements sync (queued by
  // the load's plan changes) that reads user_projects would hold one of the four connections the
  // exhausted-pool test counts, waiting on that test's lock.
  api = await startApiProcess({ ...server.env, DB_POOL_SIZE: "4", DB_MAX_OVERFLOW: "0", DB_POOL_TIMEOUT: "3", API_RETRY_AFTER: "2", DB_MAX_USER_POOL_SHARE: "1", WORKER_IN_PROCESS: "false" });
}, 120_000);

afterAll(async () => {
  await api?.kill();
  await server?.destroy();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ownerQuery<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  return connect(url, async (client) => (await client.query<T>(sql, values)).rows);
}

/** Runs the load, does `disruption` after a second of it, keeps loading until 2 s of successes after recovery. */
async function underLoad(disruption: () => Promise<number>): Promise<{ load: MixedLoad; acceptingAt: number }> {
  // 400 creates per user: far more than Free allows.
  const load = startMixedLoad(api, 8, 400, { prepareUser: (clerkId) => giveUnlimitedPlan(server.ownerUrls, clerkId) });
  try {
    await load.ready();
    await sleep(1000);
    const acceptingAt = await disruption();
    for (let waited = 0; waited < 15_000; waited += 100) {
      const firstOk = load.outcomes.find((o) => o.ok && o.at >= acceptingAt);
      if (firstOk && Date.now() - firstOk.at > 2000) break;
      await sleep(100);
    }
    return { load, acceptingAt };
  } finally {
    await load.stop();
  }
}

/** Checks shared by every disruption. */
async function expectSurvived(load: MixedLoad, acceptingAt: number): Promise<void> {
  expect(api.alive(), `the API process exited:\n${api.output().slice(-2000)}`).toBe(true);
  const recovered = load.outcomes.find((o) => o.ok && o.at >= acceptingAt);
  expect(recovered, "no request succeeded after the server came back").toBeDefined();
  expect(recovered!.at - acceptingAt, "requests succeeded again within 5 s").toBeLessThan(5000);

  const failures = load.outcomes.filter((o) => !o.ok);
  // A failure is a 503 with Retry-After and a database code; never a 200 without errors or an opaque 500.
  const dishonest = failures.filter((o: Outcome) => !(o.status === 503 && o.retryAfter && o.codes.every((c) => /^DATABASE_(UNAVAILABLE|BUSY)$/.test(c))));
  expect(dishonest.slice(0, 5).map((o) => `${o.kind} ${o.status} ${o.codes.join(",")}: ${o.messages.join("; ")}`), `${dishonest.length} failures were not honest 503s`).toEqual([]);
  expect(load.outcomes.filter((o) => o.foreign?.length)).toEqual([]);

  const acknowledged = load.acknowledged();
  expect(acknowledged.length).toBeGreaterThan(0);
  const rows = await ownerQuery<{ project_name: string; n: number }>(
    server.ownerUrls.userData,
    "select project_name, count(*)::int as n from user_data.user_projects where project_name = any($1) group by 1",
    [acknowledged],
  );
  const counts = new Map(rows.map((r) => [r.project_name, r.n]));
  expect(acknowledged.filter((name) => counts.get(name) !== 1), "acknowledged writes not present exactly once").toEqual([]);
}

describe("the API survives the database going away under load", () => {
  test("a restart of the server", async () => {
    const { load, acceptingAt } = await underLoad(async () => {
      await server.stop();
      await sleep(500);
      await server.start();
      return Date.now();
    });
    expect(load.outcomes.some((o) => !o.ok), "the restart was noticed by some request").toBe(true);
    await expectSurvived(load, acceptingAt);
  }, 90_000);

  test("pg_terminate_backend on the API's active backends", async () => {
    const { load, acceptingAt } = await underLoad(async () => {
      for (let round = 0; round < 5; round++) {
        await ownerQuery(server.adminUrl, "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'alwrity-api'");
        await sleep(100);
      }
      return Date.now();
    });
    await expectSurvived(load, acceptingAt);
  }, 90_000);

  test("the server killed with SIGKILL, then started again", async () => {
    const { load, acceptingAt } = await underLoad(async () => {
      server.kill();
      await sleep(500);
      await server.start();
      return Date.now();
    });
    await expectSurvived(load, acceptingAt);
  }, 90_000);
});

describe("honest errors", () => {
  const LIST = "{ projects { nodes { projectName } } }";

  test("a database that is down: 503, Retry-After and DATABASE_UNAVAILABLE naming the database, for known and first-time users", async () => {
    const known = api.token("user_known_before_outage");
    expect((await gql(api.url, LIST, known)).status).toBe(200);
    await server.stop();
    try {
      for (const token of [known, api.token("user_first_seen_during_outage")]) {
        const answer = await gql(api.url, LIST, token);
        expect(answer.status, JSON.stringify(answer.body)).toBe(503);
        expect(answer.headers.get("retry-after")).toBe("2");
        const error = answer.body!.errors![0]!;
        expect(error.extensions?.code).toBe("DATABASE_UNAVAILABLE");
        expect(error.message).toMatch(/the alwrity_(platform|user_data) database is unavailable/);
        expect(JSON.stringify(answer.body)).not.toMatch(/ECONNREFUSED|password/);
      }
    } finally {
      await server.start();
    }
    expect(api.alive()).toBe(true);
    expect((await gql(api.url, LIST, known)).status).toBe(200);
  }, 60_000);

  test("an exhausted pool: 503, Retry-After and DATABASE_BUSY", async () => {
    const token = api.token("user_pool_exhaustion");
    expect((await gql(api.url, LIST, token)).status).toBe(200);
    // Hold every connection of the user-data pool (4) in statements that wait on a lock.
    const locker = new pg.Client(server.ownerUrls.userData);
    await locker.connect();
    await locker.query("begin; lock table user_data.user_projects in access exclusive mode");
    try {
      const waiting = Array.from({ length: 4 }, () => gql(api.url, LIST, token));
      // Until all four hold their connection, waiting on the lock (a fixed sleep was too short on a loaded machine).
      for (let waited = 0; waited < 10_000; waited += 50) {
        const { rows } = await locker.query<{ n: number }>(
          "select count(*)::int as n from pg_locks where relation = 'user_data.user_projects'::regclass and not granted",
        );
        if (rows[0]!.n >= 4) break;
        await sleep(50);
      }
      const answer = await gql(api.url, LIST, token);
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("2");
      expect(answer.body!.errors![0]!.extensions?.code).toBe("DATABASE_BUSY");
      expect(answer.body!.errors![0]!.message).toMatch(/the alwrity_user_data database is busy/);
      await locker.query("rollback");
      for (const w of await Promise.all(waiting)) expect(w.status).toBe(200);
    } finally {
      await locker.end();
    }
  }, 60_000);
});
