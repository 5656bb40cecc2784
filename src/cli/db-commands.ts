/**
 * `alwrity db <command>`: the database service API from the command line.
 * Each command opens the configured deployment (starting the embedded server
 * when no database is configured), does its work and closes everything. Only
 * init provisions; test, info and verify-rls read and change nothing, so they
 * are safe against a live deployment.
 */
import path from "node:path";
import { loadConfig } from "../config.ts";
import type { Databases } from "../db/databases.ts";
import { initDatabases } from "../bootstrap/init-databases.ts";
import { topStatements } from "../ops/statement-stats.ts";
import { backupDeployment } from "../ops/backup.ts";
import { restoreBackup } from "../ops/restore.ts";
import type { DatabaseKey } from "../topology.ts";
import { auditDeployment } from "./audit.ts";
import { withDatabases, withDeployment } from "./open-deployment.ts";
import { formatBytes, formatTable } from "./table.ts";

export const DB_COMMANDS = {
  test: "check that both databases answer: latency, server version, login role (exit 1 if one is unreachable)",
  init: "provision where the project provisions, and apply pending migrations to both databases (safe to repeat)",
  info: "size, tables with row estimates, row-level security and policies, applied migrations, pool counts (--json for machines)",
  top: "the most expensive statements of each database by total time, from pg_stat_statements (--json for machines); reads only",
  audit: "list user ids with user data but no live platform user, and platform users without their profile (exit 1 if any; --json for machines)",
  backup: "copy both databases' rows (COPY, gzipped, no pg_dump needed) with a manifest into --out <dir> (default backups/<prefix>-<time>); needs DATABASE_ADMIN_URL or the embedded server",
  restore: "restore <dir> into a new deployment under --into <prefix> (default DATABASE_ENV_PREFIX) on DATABASE_ADMIN_URL's server, then verify rows, checksums and row-level security",
  "verify-rls": "check that every per-user table has forced row-level security and a policy for each command (exit 1 naming the table if not)",
} as const;
export type DbCommand = keyof typeof DB_COMMANDS;

export interface DbCommandOptions {
  readonly json: boolean;
  /** backup: the folder to write. */
  readonly out?: string;
  /** restore: the backup folder, and the prefix to restore under. */
  readonly dir?: string;
  readonly into?: string;
}

export async function runDbCommand(command: DbCommand, options: DbCommandOptions): Promise<void> {
  const config = loadConfig();
  if (command === "restore") {
    if (!options.dir) throw new Error("alwrity db restore needs the backup folder: alwrity db restore <dir> [--into prefix]");
    const result = await restoreBackup(config, options.dir, options.into);
    console.log(`restored ${result.rows} rows in ${result.tables} tables into ${result.databases.join(" and ")}; row counts, checksums and row-level security verified`);
    console.log(`serve it with DATABASE_ENV_PREFIX=${result.prefix} (npm start provisions the login roles' passwords)`);
    return;
  }
  if (command === "init") {
    const databases = await initDatabases(config);
    try {
      for (const db of [databases.deployment.platform, databases.deployment.userData]) console.log(`${db.name}: provisioned where needed and migrated`);
    } finally {
      await databases.close();
    }
    return;
  }
  if (command === "backup") {
    await withDeployment(async ({ deployment }) => {
      const out = path.resolve(options.out ?? path.join("backups", `${deployment.topology.prefix || "alwrity"}-${new Date().toISOString().replace(/[:.]/g, "-")}`));
      const manifest = await backupDeployment(deployment, out);
      for (const db of Object.values(manifest.databases)) {
        console.log(`${db.name}: ${db.tables.reduce((sum, t) => sum + t.rows, 0)} rows in ${db.tables.length} tables, ${formatBytes(db.bytes)} (${db.folder}/)`);
      }
      console.log(`backup written to ${out} (PostgreSQL ${manifest.server.version}; rows by COPY, gzipped)`);
    }, config);
    return;
  }
  if (command === "top") {
    await withDeployment(async ({ deployment }) => top(await topStatements(deployment, 10), options.json), config);
    return;
  }
  if (command === "audit") {
    await withDeployment(async ({ deployment }) => {
      const findings = await auditDeployment(deployment);
      if (options.json) console.log(JSON.stringify(findings));
      else {
        console.log(`user ids with user data but no live platform user: ${findings.orphanedUserIds.length}`);
        for (const id of findings.orphanedUserIds) console.log(`  ${id}`);
        console.log(`platform users without their profile: ${findings.usersWithoutProfile.length}`);
        for (const id of findings.usersWithoutProfile) console.log(`  ${id}`);
      }
      const problems = findings.orphanedUserIds.length + findings.usersWithoutProfile.length;
      if (problems > 0) throw new Error(`the audit found ${problems} problem(s) between the two databases`);
    }, config);
    return;
  }
  await withDatabases(async (databases) => {
    if (command === "test") await test(databases);
    else if (command === "info") await info(databases, options.json);
    else await verifyRls(databases);
  }, config);
}

async function test(databases: Databases): Promise<void> {
  const reports = await databases.testConnections();
  const rows = reports.map((r) => [
    r.database,
    r.reachable ? "yes" : "no",
    r.latencyMs === undefined ? "-" : `${r.latencyMs} ms`,
    r.serverVersion ?? "-",
    r.connectedAs ?? "-",
  ]);
  console.log(formatTable(["database", "reachable", "latency", "server", "connected as"], rows));
  const down = reports.filter((r) => !r.reachable);
  if (down.length > 0) throw new Error(down.map((r) => `${r.database} is unreachable: ${r.error}`).join("; "));
}

async function info(databases: Databases, json: boolean): Promise<void> {
  const infos = await databases.getDatabaseInfo();
  if (json) {
    console.log(JSON.stringify(infos, null, 2));
    return;
  }
  for (const db of infos) {
    console.log(`${db.database}: ${formatBytes(db.sizeBytes)}; pool ${db.pool.total} open, ${db.pool.idle} idle, ${db.pool.waiting} waiting`);
    const rows = db.tables.map((t) => [
      t.table,
      t.rowEstimate === null ? "?" : String(t.rowEstimate),
      t.rlsEnabled ? (t.rlsForced ? "forced" : "enabled") : "off",
      t.policies.map((p) => `${p.name} (${p.command})`).join(", ") || "-",
    ]);
    console.log(formatTable(["table", "rows (est.)", "RLS", "policies"], rows));
    const migrations = db.migrations ? db.migrations.map((m) => m.filename).join(", ") || "none" : `unknown: ${db.migrationsNote}`;
    console.log(`migrations: ${migrations}\n`);
  }
}

async function top(tops: Awaited<ReturnType<typeof topStatements>>, json: boolean): Promise<void> {
  if (json) return console.log(JSON.stringify(tops, null, 2));
  for (const db of tops) {
    console.log(`${db.database}: the ${db.statements.length} statements with the most total time since statistics were reset`);
    const rows = db.statements.map((s) => [s.totalMs.toFixed(1), String(s.calls), s.meanMs.toFixed(2), s.role ?? "?", s.query.slice(0, 100)]);
    console.log(`${formatTable(["total ms", "calls", "mean ms", "role", "statement"], rows)}\n`);
  }
}

async function verifyRls(databases: Databases): Promise<void> {
  const findings = await databases.verifyRowLevelSecurity();
  for (const [key, f] of Object.entries(findings)) {
    const name = databases.database(key as DatabaseKey).name;
    console.log(`${name}: ${f.tables.length} per-user tables, all with forced row-level security and a policy per command (${f.tables.join(", ")})`);
  }
}
