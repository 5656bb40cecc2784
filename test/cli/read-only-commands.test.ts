/**
 * The read-only commands (alwrity db test, db info, db verify-rls and
 * npm run db:status) run against a provisioned, live deployment with
 * DATABASE_ADMIN_URL, the configuration that provisions: they must change no
 * password, and the API serving that deployment must keep serving, including
 * on connections it opens afterwards.
 */
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiServer, type ApiServer } from "../../src/api/http/server.ts";
import { loadConfig, PROJECT_ROOT } from "../../src/config.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";
import { runScript } from "../support/run-script.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { connect } from "../support/connect.ts";

const endpoints = ownDeployment();
const adminUrl = testDeployment().adminUrl;
let databases: Databases;
let api: ApiServer;

beforeAll(async () => {
  const e = endpoints();
  const config = loadConfig(endpointsEnv(e));
  databases = createDatabases(e, config);
  api = await startApiServer(config, databases, e.topology);
});
afterAll(async () => {
  await api?.stop();
  await databases?.close();
});

function asAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return connect(adminUrl, fn);
}

/** The login roles' password hashes, as the server stores them. */
const passwordHashes = () =>
  asAdmin(async (admin) => {
    const logins = endpoints().topology.roles.filter((r) => r.login).map((r) => r.name);
    const { rows } = await admin.query<{ rolname: string; rolpassword: string }>(
      "select rolname, rolpassword from pg_authid where rolname = any ($1) order by rolname",
      [logins],
    );
    expect(rows).toHaveLength(logins.length);
    return rows;
  });

const plans = async () => {
  const response = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ subscriptionPlans(orderBy: NAME_ASC) { nodes { name } } }" }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
};

const ADMIN_ENV = () => ({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: adminUrl, DATABASE_ENV_PREFIX: endpoints().topology.prefix });
const ALWRITY = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");
const MIGRATE = path.join(PROJECT_ROOT, "src", "cli", "migrate.ts");

test.each([
  ["alwrity db test", ALWRITY, ["db", "test"]],
  ["alwrity db info", ALWRITY, ["db", "info"]],
  ["alwrity db verify-rls", ALWRITY, ["db", "verify-rls"]],
  ["npm run db:status", MIGRATE, ["status"]],
])("%s changes no password and the running API keeps serving", async (_name, script, args) => {
  const before = await passwordHashes();
  const expected = await plans();
  expect(expected.status).toBe(200);

  const [run, during] = await Promise.all([runScript(script, args, ADMIN_ENV()), plans()]);
  expect(run.stderr).not.toMatch(/^error:/m);
  expect(run.code).toBe(0);
  expect(during).toEqual(expected);
  expect(await passwordHashes()).toEqual(before);

  // Cut the API's connections: it must log in again, with the password it was given.
  const authenticator = endpoints().topology.role("authenticator").name;
  const backends = () =>
    asAdmin(async (admin) => (await admin.query<{ pid: number }>("select pid from pg_stat_activity where usename = $1", [authenticator])).rows.map((r) => r.pid));
  const cut = await backends();
  await asAdmin((admin) => admin.query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", [cut]));
  expect(cut.length).toBeGreaterThan(0);
  await expect.poll(async () => (await backends()).filter((pid) => cut.includes(pid)), { timeout: 10_000 }).toEqual([]);
  // A request may still meet a connection the API has not yet heard was cut; later ones log in afresh.
  // (Not "its pools are empty": the schema listener logs in again and rebuilds at once, so that is a race.)
  await expect.poll(plans, { timeout: 10_000 }).toEqual(expected);
  expect((await backends()).filter((pid) => !cut.includes(pid)).length).toBeGreaterThan(0);
});

test("alwrity db top lists each database's most expensive statements (normalised, no values), or says the server does not collect them; it changes no password", async () => {
  const before = await passwordHashes();
  await databases.platform.withAnonymous((s) => s.query("select pg_sleep(1), $1::text as secret", ["db-top-secret-value"]));
  const preloaded = await asAdmin(async (admin) => (await admin.query<{ s: string }>("select current_setting('shared_preload_libraries') as s")).rows[0]!.s.includes("pg_stat_statements"));
  const run = await runScript(ALWRITY, ["db", "top", "--json"], ADMIN_ENV());
  if (preloaded) {
    expect(run.code, run.stderr).toBe(0);
    const tops = JSON.parse(run.stdout) as { database: string; statements: { query: string; calls: number; totalMs: number }[] }[];
    expect(tops.map((t) => t.database)).toEqual([endpoints().platform.name, endpoints().userData.name]);
    const ours = tops[0]!.statements.find((s) => s.query.includes("pg_sleep("));
    expect(ours, JSON.stringify(tops[0]!.statements.map((s) => s.query))).toBeDefined();
    expect(ours!.calls).toBeGreaterThanOrEqual(1);
    expect(run.stdout).not.toContain("db-top-secret-value");
  } else {
    // Like the machine's PostgreSQL 15 here: the extension exists, the server does not load it.
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read statement statistics: the server does not load pg_stat_statements: add it to shared_preload_libraries/);
  }
  expect(await passwordHashes()).toEqual(before);
});

test("db:status reports pending migrations through the two URLs and their migration URLs alone (no shadow database)", async () => {
  const e = endpoints();
  const run = await runScript(MIGRATE, ["status"], endpointsEnv(e));
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain(`${e.platform.name}: 0 pending migration(s); current.sql is empty`);
  expect(run.stdout).toContain(`${e.userData.name}: 0 pending migration(s); current.sql is empty`);
});

test("with no database configured, a read-only command starts nothing new: it asks for db init first", async () => {
  // ENVIRONMENT=test without a data directory would mean a throw-away server: nothing there to read.
  const run = await runScript(ALWRITY, ["db", "test"], { ENVIRONMENT: "test" });
  expect(run).toMatchObject({ code: 1, stderr: "error: the embedded database is not set up yet: run `alwrity db init` or `npm start` first\n" });
});
