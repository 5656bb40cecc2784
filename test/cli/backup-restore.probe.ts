/**
 * `alwrity db backup` and `alwrity db restore`, as a user runs them, on the
 * test deployment's server (the embedded PostgreSQL 18 by default, the
 * machine's PostgreSQL 15 in CI's second run), with no pg_dump of the
 * server's version needed (the rows travel by COPY): data written to
 * both databases of one deployment is backed up, restored under another
 * prefix, and found there row for row (the test's own checksums, not the
 * tool's), with row-level security enabled and forced and the policies
 * naming the new deployment's roles, and served by a real API process to
 * the same user's token. Both deployments are dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig, PROJECT_ROOT } from "../../src/config.ts";
import { onDatabase } from "../../src/bootstrap/deployment.ts";
import { openMigratedDeployment } from "../../src/bootstrap/migrations.ts";
import { deprovision } from "../../src/bootstrap/provision.ts";
import { createDatabases } from "../../src/db/databases.ts";
import { findOrCreateUser } from "../../src/services/accounts.ts";
import { resolveTopology, type Topology } from "../../src/topology.ts";
import { gql, startApiProcess } from "../support/api-process.ts";
import { runScript } from "../support/run-script.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { connect } from "../support/connect.ts";

const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");
const run = randomBytes(4).toString("hex");
const source = resolveTopology(`bsrc${run}`);
const target = resolveTopology(`bdst${run}`);
const work = mkdtempSync(path.join(tmpdir(), "alwrity-backup-"));
const backupDir = path.join(work, "backup");
let adminUrl: string;
const clerkIds = [`user_kept_a_${run}`, `user_kept_b_${run}`];

function cli(args: string[], prefix: string, timeoutMs = 120_000) {
  return runScript(CLI, args, { ENVIRONMENT: "test", HOME: process.env.HOME ?? "", DATABASE_ADMIN_URL: adminUrl, DATABASE_ENV_PREFIX: prefix }, undefined, timeoutMs);
}

function manifestOf(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
}

function onDb<T>(topology: Topology, key: "platform" | "userData", fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return connect(onDatabase(adminUrl, topology.database(key).name), fn);
}

beforeAll(async () => {
  adminUrl = testDeployment().adminUrl;
  const config = loadConfig({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: adminUrl, DATABASE_ENV_PREFIX: source.prefix });
  const deployment = await openMigratedDeployment(config);
  const databases = createDatabases(deployment, config);
  try {
    // Users registered as the backend does (users, subscriptions, audit events), and their data.
    for (const clerkId of clerkIds) {
      const user = await databases.platform.withPlatformAdmin((admin) => findOrCreateUser(admin, { clerkId, email: `${clerkId}@example.com`, displayName: clerkId }));
      await onDb(source, "userData", (c) =>
        c.query(
          `with p as (insert into user_data.user_profiles (user_id, business_name) values ($1, $2) returning user_id),
                j as (insert into user_data.user_projects (user_id, project_name, project_type)
                      select $1, $2 || ' project ' || g, (enum_range(null::user_data.project_type))[1 + g % 2] from generate_series(1, 30) g returning id)
           insert into user_data.user_content_assets (user_id, project_id, asset_type, title, content)
           select $1, (select id from j order by id limit 1 offset (g % 30)), (enum_range(null::user_data.asset_type))[1], 'asset ' || g, repeat('é', g % 50)
             from generate_series(1, 400) g`,
          [user.id, clerkId],
        ),
      );
      await onDb(source, "platform", (c) =>
        c.query(`insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd) select $1, 'blog_writer', g, g / 100.0 from generate_series(1, 25) g`, [user.id]),
      );
      // Usage of a month long past: its partition exists in the source only, and must be made again on restore.
      await onDb(source, "platform", async (c) => {
        await c.query("select platform_private.create_usage_partition('2024-03-01')");
        await c.query(`insert into platform.platform_usage_logs (user_id, feature, tokens_used, created_at) select $1, 'podcast', g, '2024-03-15T12:00:00Z' from generate_series(1, 7) g`, [user.id]);
      });
    }
  } finally {
    await databases.close();
    await deployment.close();
  }
}, 180_000);

afterAll(async () => {
  if (adminUrl) for (const topology of [source, target]) await deprovision(adminUrl, topology);
  rmSync(work, { recursive: true, force: true });
});

/** Every table's row count and md5 of its rows in order, as the superuser sees them. */
async function contents(topology: Topology, key: "platform" | "userData"): Promise<Record<string, { rows: number; md5: string }>> {
  return onDb(topology, key, async (c) => {
    await c.query("set timezone = 'UTC'");
    const { rows: tables } = await c.query<{ name: string }>(
      `select format('%I.%I', schemaname, tablename) as name from pg_tables
        where schemaname not in ('pg_catalog', 'information_schema', 'graphile_migrate') and (schemaname, tablename) <> ('graphile_worker', 'migrations') order by 1`,
    );
    const result: Record<string, { rows: number; md5: string }> = {};
    for (const { name } of tables) {
      const { rows } = await c.query<{ n: string; md5: string }>(`select count(*) as n, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from ${name} t`);
      result[name] = { rows: Number(rows[0]!.n), md5: rows[0]!.md5 };
    }
    return result;
  });
}

test("a backup restored under another prefix holds the same rows, keeps row-level security forced, and the API serves it to the same user", async () => {
  const backup = await cli(["db", "backup", "--out", backupDir], source.prefix);
  expect(backup.code, backup.stderr).toBe(0);
  const manifest = JSON.parse(readFileSync(path.join(backupDir, "manifest.json"), "utf8"));
  const major = await onDb(source, "platform", async (c) => Math.floor(Number((await c.query("select current_setting('server_version_num') as n")).rows[0].n) / 10_000));
  expect(manifest.server.major).toBe(major);
  expect(manifest.databases.platform.migrations.length).toBeGreaterThan(0);

  const restore = await cli(["db", "restore", backupDir, "--into", target.prefix], source.prefix);
  expect(restore.code, restore.stderr).toBe(0);
  expect(restore.stdout).toContain("verified");

  for (const key of ["platform", "userData"] as const) {
    const before = await contents(source, key);
    const after = await contents(target, key);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after).toEqual(before);
  }
  // Sequences continue where the source's stood, so new rows after a restore get fresh numbers.
  for (const key of ["platform", "userData"] as const) {
    const sequences = (topology: Topology) =>
      onDb(topology, key, async (c) => (await c.query("select format('%I.%I', schemaname, sequencename) as name, last_value::text as value from pg_sequences where schemaname <> 'graphile_migrate' order by 1")).rows);
    expect(await sequences(target)).toEqual(await sequences(source));
  }
  const before = await contents(source, "userData");
  expect(before["user_data.user_content_assets"]!.rows).toBe(800);
  expect((await contents(target, "platform"))["platform_partitions.platform_usage_logs_y2024m03"]!.rows).toBe(14);

  // Row-level security: enabled and forced on every per-user table, and the policies name the new deployment's roles.
  for (const key of ["platform", "userData"] as const) {
    const { rows } = await onDb(target, key, (c) =>
      c.query<{ table: string; enabled: boolean; forced: boolean; roles: string[] }>(
        `select format('%I.%I', n.nspname, c.relname) as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
                array(select distinct r.rolname::text from pg_policy p cross join unnest(p.polroles) pr(oid) join pg_roles r on r.oid = pr.oid where p.polrelid = c.oid) as roles
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and n.nspname !~ '^(pg_|graphile_|information_schema)'
            and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped)`,
      ),
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row, row.table).toMatchObject({ enabled: true, forced: true });
      for (const role of row.roles) expect(role.startsWith(`${target.prefix}_`), `${row.table}: policy for ${role}`).toBe(true);
    }
  }

  // A real API process on the restored deployment serves each user their own projects.
  const api = await startApiProcess({ DATABASE_ADMIN_URL: adminUrl, DATABASE_ENV_PREFIX: target.prefix });
  try {
    for (const clerkId of clerkIds) {
      const answer = await gql(api.url, "{ currentUser { clerkId } projects { totalCount nodes { projectName } } }", api.token(clerkId));
      expect(answer.body?.errors).toBeUndefined();
      expect(answer.body?.data.currentUser.clerkId).toBe(clerkId);
      expect(answer.body?.data.projects.totalCount).toBe(30);
      expect(answer.body?.data.projects.nodes.every((p: { projectName: string }) => p.projectName.startsWith(`${clerkId} project`))).toBe(true);
    }
  } finally {
    await api.kill();
  }
}, 300_000);

test("restore refuses a deployment that already exists, and a dump that is not the one the backup wrote", async () => {
  const onto = await cli(["db", "restore", backupDir, "--into", source.prefix], source.prefix, 60_000);
  expect(onto.code).toBe(1);
  expect(onto.stderr).toMatch(/goes into a new deployment, and .*already exist/);

  const tampered = path.join(work, "tampered");
  rmSync(tampered, { recursive: true, force: true });
  cpSync(backupDir, tampered, { recursive: true });
  const dump = path.join(tampered, manifestOf(tampered).databases.userData.tables.find((t: { table: string }) => t.table === "user_data.user_content_assets").file);
  const bytes = readFileSync(dump);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
  writeFileSync(dump, bytes);
  const other = resolveTopology(`bbad${run}`);
  const refused = await cli(["db", "restore", tampered, "--into", other.prefix], source.prefix, 60_000);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("is not the file the backup wrote");
  // Nothing of that deployment was made.
  const made = await onDb(source, "platform", (c) => c.query("select 1 from pg_database where datname like $1", [`${other.prefix}%`]));
  expect(made.rowCount).toBe(0);
}, 120_000);
