/**
 * Several real API processes on one server, as behind a load balancer, with
 * the rate limits in the shared store (RATE_LIMIT_STORE=postgres): one user
 * spread over two processes is counted once, so the request over
 * RATE_LIMIT_PER_USER is refused whichever process gets it, and a deletion
 * through one process is refused by the other within 2 s. The same through
 * PgBouncer in transaction mode, where the revocation listener takes the
 * direct DATABASE_LISTEN_URL (LISTEN hears nothing through the pooler) and
 * the account cache works again.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateClerkKeyPair } from "../../src/api/auth/dev-keys.ts";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";
import { startPgbouncer, type Pgbouncer } from "../support/pgbouncer.ts";
import { testDeployment } from "../support/test-deployment.ts";

const run = randomUUID().slice(0, 8);
/** Small enough to reach, large enough for the revocation test's warm-up and polling (at most ~30 requests per user). */
const PER_USER = 40;
/** How long a notification may take to reach the other process on a loaded 2-core machine. */
const REVOCATION_WINDOW_MS = 2_000;
const keys = generateClerkKeyPair();
const processes: ApiProcess[] = [];
let bouncer: Pgbouncer | undefined;

const shared = { WORKER_IN_PROCESS: "false", RATE_LIMIT_STORE: "postgres", RATE_LIMIT_PER_USER: String(PER_USER), RATE_LIMIT_WINDOW: "600" };

async function pair(env: Record<string, string>): Promise<[ApiProcess, ApiProcess]> {
  const started = await Promise.all([startApiProcess({ ...deploymentEnv(), ...shared, ...env }, keys), startApiProcess({ ...deploymentEnv(), ...shared, ...env }, keys)]);
  processes.push(...started);
  return started as [ApiProcess, ApiProcess];
}

afterAll(async () => {
  for (const api of processes) await api.kill();
  await bouncer?.stop();
});

const me = "{ currentUser { rowId } }";

async function limitIsShared(first: ApiProcess, second: ApiProcess, label: string) {
  const token = first.token(`user_spread_${label}_${run}`);
  for (let i = 0; i < PER_USER; i++) {
    const api = i % 2 === 0 ? first : second;
    const answer = await gql(api.url, me, token);
    expect(answer.status, `request ${i + 1} of ${PER_USER}: ${api.output().slice(-2000)}`).toBe(200);
  }
  // The limit is the user's, not each process's: over it, both refuse.
  for (const api of [first, second]) {
    const over = await gql(api.url, me, token);
    expect(over.status, "a request over RATE_LIMIT_PER_USER, counted across both processes").toBe(429);
    expect(over.body?.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", limit: "RATE_LIMIT_PER_USER" });
  }
}

async function deletionReachesTheOther(first: ApiProcess, second: ApiProcess, label: string) {
  for (let i = 0; i < 3; i++) {
    const token = first.token(`user_leaving_${label}_${i}_${run}`);
    for (const api of [first, second, first, second]) expect((await gql(api.url, me, token)).status, api.output().slice(-2000)).toBe(200);
    const deleted = await gql(first.url, "mutation { requestAccountDeletion(input: {}) { result } }", token);
    expect(deleted.body?.errors).toBeUndefined();
    const answered = Date.now();
    let next = await gql(second.url, me, token);
    while (next.status === 200 && Date.now() - answered < REVOCATION_WINDOW_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = await gql(second.url, me, token);
    }
    expect(next.status, `user ${i}: the other process still accepted the token ${REVOCATION_WINDOW_MS} ms after the deletion's answer`).toBe(401);
    expect(next.body?.errors?.[0]?.extensions?.reason).toBe("account-deleted");
  }
}

/**
 * The revocation listeners that connected to the platform database directly since `since` (the
 * server's clock), by the server's own count, read as the API's login (whose sessions the listeners
 * are: another role would see no backend_start). Counted by start time, not before and after, so
 * processes of other test files stopping meanwhile do not count.
 */
async function listenersSince(since: string): Promise<number> {
  const rows = await asLogin<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where application_name = 'alwrity-listener' and datname = current_database() and backend_start >= $1",
    [since],
  );
  return rows[0]!.n;
}

async function asLogin<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client(testDeployment().databases.platform.apiUrl);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe("two API processes on one server", () => {
  let first: ApiProcess;
  let second: ApiProcess;
  beforeAll(async () => {
    [first, second] = await pair({});
  }, 120_000);

  test("the per-user limit counts the requests of both: the one over it is refused whichever process gets it", () => limitIsShared(first, second, "direct"), 120_000);
  test("a deletion through one is refused by the other within 2 s", () => deletionReachesTheOther(first, second, "direct"), 120_000);
});

describe("two API processes through PgBouncer in transaction mode, listening on DATABASE_LISTEN_URL", () => {
  let first: ApiProcess;
  let second: ApiProcess;
  beforeAll(async () => {
    const d = testDeployment();
    bouncer = await startPgbouncer([d.databases.platform.apiUrl, d.databases.userData.apiUrl], 4);
    const [{ now }] = (await asLogin<{ now: string }>("select now()::text as now")) as [{ now: string }];
    [first, second] = await pair({
      PLATFORM_DATABASE_URL: bouncer.through(d.databases.platform.apiUrl),
      USER_DATA_DATABASE_URL: bouncer.through(d.databases.userData.apiUrl),
      DATABASE_POOLER_MODE: "transaction",
      DATABASE_LISTEN_URL: d.databases.platform.apiUrl,
      DB_POOL_SIZE: "4",
      DB_MAX_OVERFLOW: "0",
    });
    // Both listen directly (so both cache accounts): what DATABASE_LISTEN_URL is for.
    const by = Date.now() + 10_000;
    while ((await listenersSince(now)) < 2 && Date.now() < by) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await listenersSince(now), "each pooled process's revocation listener, connected directly").toBeGreaterThanOrEqual(2);
  }, 120_000);

  test("the per-user limit counts the requests of both", () => limitIsShared(first, second, "pooled"), 120_000);
  test("a deletion through one is refused by the other within 2 s", () => deletionReachesTheOther(first, second, "pooled"), 120_000);
});
