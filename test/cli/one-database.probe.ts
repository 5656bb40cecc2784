/**
 * The one-database setup (both URLs naming one database, as with one Supabase project), on
 * PostgreSQL 15, as a user runs it: `npm run db:migrate` applies both databases' migrations into
 * the one database, each with its own migration record; `db:status` and `alwrity db verify-rls`
 * pass; a real API process registers a user and creates a project (both halves); and when a table
 * goes missing, both checks fail naming it. A database half-migrated the old way (the platform's
 * record in a plain graphile_migrate.migrations, the user data "already up to date" with no tables)
 * fails db:status by name, and the next db:migrate adopts the record as the platform's and makes
 * the user data's tables. Each deployment (prefix of its own) is dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { generateCredentials } from "../../src/bootstrap/credentials.ts";
import { withLogin } from "../../src/bootstrap/deployment.ts";
import { deprovision, provision } from "../../src/bootstrap/provision.ts";
import { onDatabase } from "../../src/bootstrap/deployment.ts";
import { resolveTopology, type Topology } from "../../src/topology.ts";
import { loadConfig } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { migrationSettings, releaseMigrationPools, runMigrateCommand } from "../../src/bootstrap/migrations.ts";
import { gql, startApiProcess } from "../support/api-process.ts";
import { pg15AdminUrl } from "../support/pg15.ts";
import { runScript } from "../support/run-script.ts";

const MIGRATE = path.join(PROJECT_ROOT, "src", "cli", "migrate.ts");
const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");
const run = randomBytes(4).toString("hex");
const topology = resolveTopology(`one${run}`);
/** A second deployment, for the database half-migrated the old way. */
const legacy = resolveTopology(`old${run}`);
/** The one database both URLs name. */
const shared = topology.database("platform").name;
let adminUrl: string;
let env: Record<string, string>;

/** The roles and an empty database, as a hosting provider hands them out; both URLs name that database. */
async function oneDatabase(t: Topology): Promise<Record<string, string>> {
  const credentials = generateCredentials();
  await provision(adminUrl, t, credentials);
  const database = t.database("platform").name;
  const api = withLogin(adminUrl, t.role("authenticator").name, credentials.authenticator, database);
  const owner = withLogin(adminUrl, t.role("owner").name, credentials.owner, database);
  return {
    ENVIRONMENT: "test",
    HOME: process.env.HOME ?? "",
    DATABASE_ENV_PREFIX: t.prefix,
    PLATFORM_DATABASE_URL: api,
    USER_DATA_DATABASE_URL: api,
    PLATFORM_MIGRATION_DATABASE_URL: owner,
    USER_DATA_MIGRATION_DATABASE_URL: owner,
  };
}

beforeAll(async () => {
  adminUrl = await pg15AdminUrl();
  env = await oneDatabase(topology);
}, 60_000);

afterAll(async () => {
  if (adminUrl) for (const t of [topology, legacy]) await deprovision(adminUrl, t);
});

async function onShared<T>(fn: (client: pg.Client) => Promise<T>, database = shared): Promise<T> {
  const client = new pg.Client({ connectionString: onDatabase(adminUrl, database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

test("both databases' migrations go into one database, each with its own record; the checks pass and the API serves both halves", async () => {
  const migrated = await runScript(MIGRATE, ["migrate"], env, undefined, 180_000);
  expect(migrated.code, migrated.stderr).toBe(0);

  const schemas = await onShared((c) => c.query<{ nspname: string }>("select nspname from pg_namespace where nspname in ('platform', 'user_data') order by 1"));
  expect(schemas.rows.map((r) => r.nspname)).toEqual(["platform", "user_data"]);
  const records = await onShared((c) => c.query<{ set_name: string; n: string }>("select set_name, count(*) as n from graphile_migrate.set_migrations group by 1 order by 1"));
  expect(records.rows.map((r) => r.set_name)).toEqual(["platform", "user_data"]);

  // A second run finds both up to date (each reads its own record).
  const again = await runScript(MIGRATE, ["migrate"], env, undefined, 120_000);
  expect(again.code, again.stderr).toBe(0);

  const status = await runScript(MIGRATE, ["status"], env, undefined, 60_000);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toContain(`${shared}: 0 pending migration(s)`);
  expect(status.stdout.match(/0 pending migration\(s\)/g)).toHaveLength(2);

  const rls = await runScript(CLI, ["db", "verify-rls"], env, undefined, 60_000);
  expect(rls.code, rls.stderr).toBe(0);
  expect(rls.stdout).toContain("user_data.user_profiles");
  expect(rls.stdout).toContain("platform.users");

  const reset = await runScript(MIGRATE, ["reset", "user_data"], env, undefined, 60_000);
  expect(reset.code).toBe(1);
  expect(reset.stderr).toContain("both database URLs name one database");

  const api = await startApiProcess(env);
  try {
    const token = api.token(`user_one_${topology.prefix}`);
    const me = await gql(api.url, "{ currentUser { clerkId } }", token);
    expect(me.body?.errors).toBeUndefined();
    expect(me.body?.data.currentUser.clerkId).toBe(`user_one_${topology.prefix}`);
    const created = await gql(api.url, `mutation { createProject(input: { project: { projectName: "shared", projectType: PODCAST } }) { project { projectName } } }`, token);
    expect(created.body?.errors).toBeUndefined();
    const listed = await gql(api.url, "{ projects { nodes { projectName } } }", token);
    expect(listed.body?.data.projects.nodes).toEqual([{ projectName: "shared" }]);
  } finally {
    await api.kill();
  }
}, 400_000);

test("with a table of the migrations missing, db:status and verify-rls fail naming it", async () => {
  await onShared((c) => c.query("drop table user_data.user_personas cascade"));
  const status = await runScript(MIGRATE, ["status", "user_data"], env, undefined, 60_000);
  expect(status.code).toBe(1);
  expect(status.stderr).toContain("user_data.user_personas");
  expect(status.stderr).toContain("records every migration as applied");
  const rls = await runScript(CLI, ["db", "verify-rls"], env, undefined, 60_000);
  expect(rls.code).toBe(1);
  expect(rls.stderr).toContain("user_data.user_personas: the table does not exist");
}, 120_000);

test("a database half-migrated the old way fails db:status by name, and db:migrate adopts its record as the platform's", async () => {
  const legacyEnv = await oneDatabase(legacy);
  const database = legacy.database("platform").name;
  // The old way: graphile-migrate's plain record, written by the platform's migrations alone.
  const deployment = await openDeployment(loadConfig(legacyEnv));
  try {
    await runMigrateCommand("migrate", migrationSettings(deployment, "platform"));
  } finally {
    releaseMigrationPools();
    await deployment.close();
  }
  const before = await runScript(MIGRATE, ["status", "user_data"], legacyEnv, undefined, 60_000);
  expect(before.code).toBe(1);
  expect(before.stderr).toMatch(/records every migration as applied, but \d+ table\(s\) .* are missing \(.*user_data\.user_profiles/);

  const migrated = await runScript(MIGRATE, ["migrate"], legacyEnv, undefined, 180_000);
  expect(migrated.code, migrated.stderr).toBe(0);
  const records = await onShared((c) => c.query<{ set_name: string }>("select distinct set_name from graphile_migrate.set_migrations order by 1"), database);
  expect(records.rows.map((r) => r.set_name)).toEqual(["platform", "user_data"]);
  const after = await runScript(MIGRATE, ["status"], legacyEnv, undefined, 60_000);
  expect(after.code, after.stderr).toBe(0);
  // The API login's grant on the record (a migration's, read for readiness) survived the change into a view.
  const granted = await onShared(
    (c) => c.query<{ ok: boolean }>("select has_column_privilege($1, 'graphile_migrate.migrations', 'filename', 'select') as ok", [legacy.role("authenticator").name]),
    database,
  );
  expect(granted.rows[0]!.ok).toBe(true);
  const info = await runScript(CLI, ["db", "info", "--json"], legacyEnv, undefined, 60_000);
  expect(info.code, info.stderr).toBe(0);
  expect(JSON.parse(info.stdout).map((db: { migrations: unknown[] | null }) => db.migrations?.length ?? 0).every((n: number) => n > 0)).toBe(true);
}, 300_000);
