/**
 * `alwrity db restore <dir> [--into prefix]`: a backup (backup.ts) restored
 * into a fresh deployment, on the server DATABASE_ADMIN_URL reaches, under
 * the configured prefix or `--into`'s.
 *
 *   1. the manifest and the table files' checksums are checked, and the
 *      checkout's committed migrations must be exactly those the backup was
 *      taken at (the schema comes from them);
 *   2. the deployment must not exist yet: provisioning gives login roles new
 *      passwords, which would cut off whatever uses an existing one;
 *   3. roles and databases are provisioned from the topology spec for that
 *      prefix and migrated, so every grant and policy names its own roles;
 *   4. the rows the migrations seeded are removed and the backup's rows are
 *      loaded by COPY (no pg_restore: see backup.ts for why) in one
 *      transaction per database, triggers off (the rows were checked by them
 *      when first written; the audit log's append-only trigger would refuse
 *      them), and the sequences set to the backup's values;
 *   5. every table's row count and checksum must equal the manifest's, and
 *      every per-user table must still have forced row-level security.
 *
 * On any failure after step 3 the half-made deployment is dropped again.
 */
import { createReadStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { PROJECT_ROOT, type Config } from "../config.ts";
import { createDatabases } from "../db/databases.ts";
import { DATABASE_KEYS, databaseFiles, resolveTopology, type DatabaseKey, type Topology } from "../topology.ts";
import {
  appliedMigrations,
  fingerprintDifferences,
  fingerprintTables,
  jobQueueMigration,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  sequenceValues,
  STABLE_TEXT,
  tableColumns,
  tablesBackedUp,
  type AppliedMigration,
  type BackupManifest,
} from "./backup-manifest.ts";
import { sha256Of } from "./backup.ts";
import { openMigratedDeployment } from "../bootstrap/migrations.ts";
import { onDatabase, type Deployment } from "../bootstrap/deployment.ts";
import { deprovision } from "../bootstrap/provision.ts";

const PURPOSE = "alwrity db restore";

export interface RestoreResult {
  readonly prefix: string;
  readonly databases: readonly string[];
  readonly tables: number;
  readonly rows: number;
}

export async function restoreBackup(config: Config, dir: string, into: string | undefined): Promise<RestoreResult> {
  const manifest = await readManifest(dir);
  const prefix = into ?? config.envPrefix;
  if (config.source.kind !== "admin") {
    throw new Error(`${PURPOSE} makes a new deployment (roles and databases), so it needs DATABASE_ADMIN_URL: a superuser of the server to restore into`);
  }
  const adminUrl = config.source.adminUrl;
  const topology = resolveTopologyFor(prefix);
  checkMigrationsMatch(manifest);
  await requireFreshDeployment(adminUrl, topology);

  let deployment: Deployment | undefined;
  try {
    deployment = await openMigratedDeployment({ ...config, envPrefix: prefix });
    let tables = 0;
    let rows = 0;
    for (const key of DATABASE_KEYS) {
      const restored = await restoreDatabase(deployment, key, manifest, dir);
      tables += restored.tables;
      rows += restored.rows;
    }
    const databases = createDatabases(deployment, config);
    try {
      await databases.verifyRowLevelSecurity();
    } finally {
      await databases.close();
    }
    const names = DATABASE_KEYS.map((key) => deployment!.endpoints(key).name);
    return { prefix, databases: names, tables, rows };
  } catch (error) {
    // Nothing of this deployment existed before (requireFreshDeployment): leave nothing half-made.
    await deprovision(adminUrl, topology).catch(() => undefined);
    throw error;
  } finally {
    await deployment?.close();
  }
}

async function readManifest(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), "utf8")) as BackupManifest;
  } catch (error) {
    throw new Error(`${PURPOSE}: ${path.join(dir, MANIFEST_FILE)} cannot be read as a backup manifest: ${(error as Error).message}`);
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new Error(`${PURPOSE}: ${dir} holds a backup of format ${String(manifest.format)}; this version reads ${MANIFEST_FORMAT}`);
  for (const key of DATABASE_KEYS) {
    const db = manifest.databases?.[key];
    if (!db) throw new Error(`${PURPOSE}: the manifest in ${dir} names no files for the ${key} database`);
    for (const table of db.tables) {
      const file = path.join(dir, table.file);
      const actual = await sha256Of(file).catch((error: Error) => `unreadable (${error.message})`);
      if (actual !== table.sha256) throw new Error(`${PURPOSE}: ${file} (${table.table}) is not the file the backup wrote (SHA-256 ${actual}, the manifest says ${table.sha256})`);
    }
  }
  return manifest;
}

function resolveTopologyFor(prefix: string): Topology {
  try {
    return resolveTopology(prefix);
  } catch {
    throw new Error(`${PURPOSE}: --into must be a lowercase identifier of at most 20 characters (letters, digits, _), starting with a letter; got "${prefix}"`);
  }
}

/** The committed migrations of this checkout, as graphile-migrate records them (file name and hash). */
function committedMigrations(key: DatabaseKey): AppliedMigration[] {
  const folder = path.join(PROJECT_ROOT, databaseFiles(resolveTopology().database(key)).committed);
  return readdirSync(folder)
    .filter((file) => /^\d+\.sql$/.test(file))
    .sort()
    .map((filename) => ({ filename, hash: /^--! Hash: (\S+)$/m.exec(readFileSync(path.join(folder, filename), "utf8"))?.[1] ?? "unknown" }));
}

/**
 * The restore's schema is built by this checkout's migrations; the backup's
 * rows fit the schema of the migrations it was taken at. Anything else
 * would load rows into tables of another shape.
 */
function checkMigrationsMatch(manifest: BackupManifest): void {
  for (const key of DATABASE_KEYS) {
    const backup = manifest.databases[key].migrations;
    const here = committedMigrations(key);
    const describe = (list: readonly AppliedMigration[]) => list.map((m) => m.filename).join(", ") || "none";
    const differ = backup.length !== here.length || backup.some((m, i) => m.filename !== here[i]!.filename || m.hash !== here[i]!.hash);
    if (differ) {
      throw new Error(
        `${PURPOSE}: the backup of ${manifest.databases[key].name} was taken at migrations ${describe(backup)}, and this checkout's are ${describe(here)}. ` +
          `Restore with the checkout at the commit the backup was taken with, then run alwrity db init to apply newer migrations.`,
      );
    }
  }
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "alwrity-restore" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function requireFreshDeployment(adminUrl: string, topology: Topology): Promise<void> {
  const existing = await withAdmin(adminUrl, async (client) => {
    const databases = await client.query<{ name: string }>("select datname as name from pg_database where datname = any ($1::text[])", [topology.databases.map((d) => d.name)]);
    const roles = await client.query<{ name: string }>("select rolname as name from pg_roles where rolname = any ($1::text[])", [topology.roles.map((r) => r.name)]);
    return [...databases.rows, ...roles.rows].map((r) => r.name);
  });
  if (existing.length > 0) {
    throw new Error(
      `${PURPOSE} goes into a new deployment, and ${existing.join(", ")} already exist on the server${topology.prefix ? ` (prefix ${topology.prefix})` : ""}: ` +
        `choose another prefix with --into, or drop that deployment first`,
    );
  }
}

async function restoreDatabase(deployment: Deployment, key: DatabaseKey, manifest: BackupManifest, dir: string): Promise<{ tables: number; rows: number }> {
  const backup = manifest.databases[key];
  const name = deployment.endpoints(key).name;
  const url = onDatabase(deployment.adminUrl!, name);
  await withAdmin(url, async (client) => {
    const applied = await appliedMigrations(client, deployment.topology.database(key).folder, false);
    if (JSON.stringify(applied) !== JSON.stringify(backup.migrations)) throw new Error(`${PURPOSE}: ${name} was migrated to ${applied.map((m) => m.filename).join(", ")}, not to the backup's migrations`);
    const jobQueue = key === "platform" ? await jobQueueMigration(client) : null;
    if (jobQueue !== backup.jobQueueMigration) {
      throw new Error(`${PURPOSE}: the job queue in ${name} is at graphile-worker migration ${jobQueue}, the backup's at ${backup.jobQueueMigration}: use the graphile-worker version the backup was taken with`);
    }
    // Monthly partitions of the usage log exist for the months that had usage; a fresh
    // deployment has only those around today. The backup's are made first, so their rows land.
    for (const { table } of backup.tables) {
      const month = /^platform_partitions\.platform_usage_logs_y(\d{4})m(\d{2})$/.exec(table);
      if (month) await client.query("select platform_private.create_usage_partition(make_date($1, $2, 1))", [Number(month[1]), Number(month[2])]);
    }
    await requireSameShape(client, name, backup);
    await client.query("begin");
    try {
      // What the migrations seeded (the plans) is in the backup too, as it was then. A partitioned
      // table is emptied through its root (a foreign key may name the root, never a partition).
      const tables = [...(await tablesBackedUp(client)), ...(await partitionedRoots(client))];
      // Triggers off, foreign keys included (the rows satisfied them when written; tables load in any order).
      await client.query("set local session_replication_role = replica");
      await client.query(STABLE_TEXT);
      if (tables.length > 0) await client.query(`truncate ${tables.join(", ")}`);
      for (const table of backup.tables) {
        await pipeline(createReadStream(path.join(dir, table.file)), createGunzip(), client.query(copyFrom(`copy ${table.table} (${table.columns.join(", ")}) from stdin`)));
      }
      for (const s of backup.sequences) {
        // Never used in the backup: back to its start, whatever the migrations' seeding drew from it.
        if (s.lastValue === null) await client.query(`alter sequence ${s.sequence} restart`);
        else await client.query("select setval($1::regclass, $2::bigint, true)", [s.sequence, s.lastValue]);
      }
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    }
  });
  const restored = await withAdmin(url, (client) => fingerprintTables(client));
  const problems = fingerprintDifferences(backup.tables, restored);
  if (problems.length > 0) throw new Error(`${PURPOSE}: ${name} differs from the backup after restoring: ${problems.join("; ")}`);
  return { tables: restored.length, rows: restored.reduce((sum, t) => sum + t.rows, 0) };
}

/**
 * Every table, its columns and every sequence the manifest names must be the fresh deployment's
 * own, as its migrations made them: the names go into COPY and ALTER SEQUENCE statements, and
 * rows of another shape would not load where they belong.
 */
async function requireSameShape(client: pg.ClientBase, name: string, backup: BackupManifest["databases"][DatabaseKey]): Promise<void> {
  const tables = new Set(await tablesBackedUp(client));
  for (const table of backup.tables) {
    if (!tables.has(table.table)) throw new Error(`${PURPOSE}: the backup holds rows of ${table.table}, which the migrations do not make in ${name}`);
    const columns = await tableColumns(client, table.table);
    if (JSON.stringify(columns) !== JSON.stringify(table.columns)) {
      throw new Error(`${PURPOSE}: ${table.table} has columns ${columns.join(", ")} in ${name}, the backup's rows have ${table.columns.join(", ")}`);
    }
  }
  const sequences = new Set((await sequenceValues(client)).map((s) => s.sequence));
  for (const s of backup.sequences) if (!sequences.has(s.sequence)) throw new Error(`${PURPOSE}: the backup names sequence ${s.sequence}, which ${name} does not have`);
}

/** Partitioned tables (their rows live in partitions, which the backup lists one by one). */
async function partitionedRoots(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ table: string }>(
    `select format('%I.%I', n.nspname, c.relname) as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'p' and not c.relispartition order by 1`,
  );
  return rows.map((r) => r.table);
}
