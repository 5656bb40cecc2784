/**
 * One user cannot starve the others: a request holds at most
 * DB_MAX_CONNECTIONS_PER_REQUEST connections, a user at most
 * DB_MAX_USER_POOL_SHARE of the pool (then 429 with Retry-After), and a
 * statement stops when its client goes away or its request's time is up.
 * Statements are made to wait by an admin holding a lock on the projects
 * table, so what is checked is state in pg_stat_activity, not speed; that
 * happens on a server of the tests' own, where no other test file's requests
 * wait on the lock or are counted.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { HEAVIEST_ALLOWED } from "../../bench/workload.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";

const run = randomUUID().slice(0, 8);

let own: OwnServer;
beforeAll(async () => {
  own = await startOwnServer();
}, 180_000);
afterAll(() => own?.destroy());

/** The server's superuser on its user-data database: sees every backend's query and state. */
function ownAdminUrl(): string {
  const url = new URL(own.adminUrl);
  url.pathname = new URL(own.ownerUrls.userData).pathname;
  return url.toString();
}

/** Holds an exclusive lock on user_projects until released: every read of projects waits. */
async function lockProjects() {
  const admin = new pg.Client({ connectionString: ownAdminUrl() });
  await admin.connect();
  await admin.query("begin; lock table user_data.user_projects in access exclusive mode");
  return {
    admin,
    async release() {
      await admin.query("rollback").catch(() => undefined);
      await admin.end();
    },
  };
}

/** The API's statements waiting on that lock. */
async function waitingStatements(admin: pg.Client): Promise<number> {
  // The admin is inside its locking transaction, where statistics views are a snapshot: clear it first.
  const results = (await admin.query(
    `select pg_stat_clear_snapshot();
     select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'alwrity-api' and state = 'active' and query ilike '%user_projects%'`,
  )) as unknown as pg.QueryResult<{ n: number }>[];
  return results[1]!.rows[0]!.n;
}

/** Polls until `check` holds or `boundMs` passes; returns the last value. */
async function pollUntil<T>(read: () => Promise<T>, check: (value: T) => boolean, boundMs: number): Promise<T> {
  const until = Date.now() + boundMs;
  let value = await read();
  while (!check(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}

function post(api: TestApi, query: string, token: string, signal?: AbortSignal) {
  return fetch(api.server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    signal,
  });
}

describe("with a pool of 10 and a short wait for a share", () => {
  let api: TestApi;
  let lock: Awaited<ReturnType<typeof lockProjects>> | undefined;
  beforeAll(async () => {
    api = await startTestApi({ ...own.env, DATABASE_ENV_PREFIX: "", DB_POOL_SIZE: "10", DB_MAX_OVERFLOW: "0", DB_POOL_TIMEOUT: "1", DB_MAX_USER_POOL_SHARE: "0.3" });
  });
  afterEach(async () => {
    await lock?.release();
    lock = undefined;
  });
  afterAll(() => api?.stop());

  test("a disconnected client's statement is cancelled: gone from pg_stat_activity within a second", async () => {
    const token = api.token({ sub: `user_gone_${run}` });
    await api.gql("{ currentUser { rowId } }", {}, token); // registered before the lock
    lock = await lockProjects();
    const client = new AbortController();
    const pending = post(api, "{ projects { totalCount } }", token, client.signal).catch((e: Error) => e);
    // The count and the page may run as two statements, in parallel.
    expect(await pollUntil(() => waitingStatements(lock!.admin), (n) => n >= 1, 10_000)).toBeGreaterThanOrEqual(1);
    client.abort();
    await pending;
    expect(await pollUntil(() => waitingStatements(lock!.admin), (n) => n === 0, 1_000)).toBe(0);
  });

  test("one request holds at most 2 connections (DB_MAX_CONNECTIONS_PER_REQUEST) however many lists it asks for", async () => {
    const token = api.token({ sub: `user_wide_${run}` });
    await api.gql("{ currentUser { rowId } }", {}, token);
    lock = await lockProjects();
    const fields = Array.from({ length: 6 }, (_, i) => `p${i}: projects(offset: ${i}) { totalCount }`).join(" ");
    const client = new AbortController();
    const pending = post(api, `{ ${fields} }`, token, client.signal).catch((e: Error) => e);
    // PostGraphile runs such lists in parallel; the request gets 2 connections, the rest of its lists wait.
    expect(await pollUntil(() => waitingStatements(lock!.admin), (n) => n >= 1, 10_000)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await waitingStatements(lock.admin)).toBeLessThanOrEqual(2);
    client.abort();
    await pending;
  });

  test("a user over their share of the pool gets 429 with Retry-After, while another user still gets through", async () => {
    // 0.3 of 10 connections: 3 at once for one user.
    const hog = api.token({ sub: `user_hog_${run}` });
    const other = api.token({ sub: `user_other_${run}` });
    await api.gql("{ currentUser { rowId } }", {}, hog);
    await api.gql("{ currentUser { rowId } }", {}, other);
    lock = await lockProjects();
    const client = new AbortController();
    const held = Array.from({ length: 3 }, () => post(api, "{ projects { totalCount } }", hog, client.signal).catch((e: Error) => e));
    expect(await pollUntil(() => waitingStatements(lock!.admin), (n) => n === 3, 10_000)).toBe(3);
    const refused = await post(api, "{ projects { totalCount } }", hog);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as any).errors[0].extensions.code).toBe("TOO_MANY_CONNECTIONS");
    // The other user is not refused: their statement waits on the same lock, with a connection of its own.
    const otherClient = new AbortController();
    const otherPending = post(api, "{ projects { totalCount } }", other, otherClient.signal).catch((e: Error) => e);
    expect(await pollUntil(() => waitingStatements(lock!.admin), (n) => n > 3, 10_000)).toBeGreaterThan(3);
    client.abort();
    otherClient.abort();
    await Promise.all([...held, otherPending]);
  });
});

describe("with a request time budget of 1 s", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ ...own.env, DATABASE_ENV_PREFIX: "", API_REQUEST_TIMEOUT: "1" });
  });
  afterAll(() => api?.stop());

  test("a statement still running when the request's time is up is cancelled and the client told so", async () => {
    const token = api.token({ sub: `user_slow_${run}` });
    await api.gql("{ currentUser { rowId } }", {}, token);
    const lock = await lockProjects();
    try {
      const { errors } = await api.gql("{ projects { totalCount } }", {}, token);
      expect(errors?.[0]?.extensions?.code).toBe("57014");
      expect(await pollUntil(() => waitingStatements(lock.admin), (n) => n === 0, 1_000)).toBe(0);
    } finally {
      await lock.release();
    }
  });
});

describe("on a pool of 2", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ DB_POOL_SIZE: "2", DB_MAX_OVERFLOW: "0" });
  });
  afterAll(() => api?.stop());

  test("user B's simple query keeps succeeding while user A repeatedly sends the most expensive request the limits allow", async () => {
    const a = api.token({ sub: `user_heavy_${run}` });
    const b = api.token({ sub: `user_light_${run}` });
    const made = await api.gql(`mutation { createProject(input: { project: { projectName: "heavy", projectType: BLOG } }) { project { rowId userId } } }`, {}, a);
    const project = made.data.createProject.project;
    const admin = new pg.Client({ connectionString: testDeployment().adminUrlFor("userData") });
    await admin.connect();
    await admin.query(
      `insert into user_data.user_content_assets (user_id, project_id, asset_type, title, content)
       select $1, $2, 'blog_post', 'asset ' || n, repeat('x', 2000) from generate_series(1, 3000) n`,
      [project.userId, project.rowId],
    );
    await admin.end();
    await api.gql("{ currentUser { rowId } }", {}, b);
    const heavy = HEAVIEST_ALLOWED;
    const check = await api.gql(heavy, {}, a);
    expect(check.errors).toBeUndefined();

    let stop = false;
    const load = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 15 && !stop; i++) await api.gql(heavy, {}, a);
    });
    const answers: number[] = [];
    for (let i = 0; i < 15; i++) {
      const { status, data, errors } = await api.gql("{ currentUser { clerkId } }", {}, b);
      expect(errors).toBeUndefined();
      expect(data.currentUser.clerkId).toBe(`user_light_${run}`);
      answers.push(status);
    }
    stop = true;
    await Promise.all(load);
    expect(answers.every((s) => s === 200)).toBe(true);
  }, 120_000);
});
