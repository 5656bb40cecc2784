/**
 * `alwrity db backup`: both databases' rows, each in PostgreSQL's custom
 * format (pg_dump -Fc), with a manifest (backup-manifest.ts).
 *
 * The dumps hold data only. The schema — tables, grants, policies, functions
 * — is what the committed migrations build, and the roles are what the
 * topology spec provisions; a restore rebuilds both for its own prefix
 * (restore.ts). A dump of the schema would name this deployment's roles
 * (o1234_authenticated) in every grant and policy, and a restore under
 * another prefix would have to rewrite SQL text to rename them.
 *
 * Each database is read by the admin login (a superuser): forced row-level
 * security hides rows from the owner itself, and pg_dump refuses to dump
 * what row-level security would filter.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { DATABASE_KEYS, databaseSpec, type DatabaseKey } from "../topology.ts";
import {
  appliedMigrations,
  fingerprintTables,
  jobQueueMigration,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  NOT_BACKED_UP,
  type BackupManifest,
  type DatabaseBackup,
} from "./backup-manifest.ts";
import type { Deployment } from "../bootstrap/deployment.ts";
import { majorOf, onDatabase, postgresTools, programConnection, runProgram, type PostgresTools } from "../host/postgres-tools.ts";

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
  const tools = postgresTools(server.major, PURPOSE);
  mkdirSync(outDir, { recursive: true });
  const databases = {} as Record<DatabaseKey, DatabaseBackup>;
  for (const key of DATABASE_KEYS) databases[key] = await backupDatabase(adminUrl, deployment.endpoints(key).name, key, tools, outDir);

  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    createdAt: new Date().toISOString(),
    prefix: deployment.topology.prefix,
    server,
    pgDump: { version: tools.version, major: tools.major },
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
    return { version: rows[0]!.version, major: majorOf(Number(rows[0]!.num)) };
  } finally {
    await client.end();
  }
}

/**
 * One database: a repeatable-read transaction exports its snapshot, pg_dump
 * reads in that snapshot, and the fingerprints are taken in it too, so the
 * manifest describes exactly the rows in the dump however busy the server.
 */
async function backupDatabase(adminUrl: string, name: string, key: DatabaseKey, tools: PostgresTools, outDir: string): Promise<DatabaseBackup> {
  const client = new pg.Client({ connectionString: onDatabase(adminUrl, name), application_name: "alwrity-backup" });
  await client.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    const { rows } = await client.query<{ snapshot: string }>("select pg_export_snapshot() as snapshot");
    const file = `${key}.dump`;
    const connection = programConnection(adminUrl, name);
    await runProgram(
      tools,
      "pg_dump",
      [
        "--format=custom",
        "--data-only",
        `--snapshot=${rows[0]!.snapshot}`,
        ...NOT_BACKED_UP.schemas.map((schema) => `--exclude-schema=${schema}`),
        ...NOT_BACKED_UP.tables.map((table) => `--exclude-table-data=${table}`),
        `--file=${path.join(outDir, file)}`,
        `--dbname=${connection.dbname}`,
      ],
      { ...connection.env, PGAPPNAME: "alwrity-backup" },
    );
    const tables = await fingerprintTables(client);
    const migrations = await appliedMigrations(client, databaseSpec(key).folder, true);
    const jobQueue = key === "platform" ? await jobQueueMigration(client) : null;
    await client.query("commit");
    const target = path.join(outDir, file);
    return { name, file, sha256: await sha256Of(target), bytes: statSync(target).size, migrations, jobQueueMigration: jobQueue, tables };
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
