/**
 * graphile-migrate, once per database. Each database has its own
 * configuration file (the spec's migrateConfig: .gmrc for the platform,
 * .gmrc.user_data for user data); this module fills in what depends on the
 * deployment and the spec: the migrations folder, the owner's connection, the
 * shadow and root connections, and the role-name placeholders.
 */
import * as gm from "graphile-migrate";
import { clearAllPools } from "graphile-migrate/dist/pgReal.js";
import JSON5 from "json5";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, redactUrl } from "../config.ts";
import { DATABASE_KEYS, databaseFiles, type DatabaseKey } from "../topology.ts";
import type { Config } from "../config.ts";
import { openDeployment, withLogin, type Deployment } from "./deployment.ts";
import { installJobQueue } from "./job-queue.ts";
import { MIGRATION_SET_SETTING } from "../db/migration-state.ts";
import { prepareMigrationSets } from "./migration-sets.ts";

/**
 * `verbose`: graphile-migrate's progress lines too (for the db:* commands a developer watches).
 * `migrationsFolder`: another folder than the database's own (tests that deploy a migration of their own).
 */
export function migrationSettings(deployment: Deployment, key: DatabaseKey, verbose = false, migrationsFolder?: string): gm.Settings {
  const spec = deployment.topology.database(key);
  const endpoints = deployment.endpoints(key);
  const file = path.join(PROJECT_ROOT, spec.migrateConfig);
  const base = JSON5.parse(readFileSync(file, "utf8")) as gm.Settings;
  if (!endpoints.migrationUrl) {
    throw new Error(
      `No migration login for ${spec.name}: set ${spec.folder.toUpperCase()}_MIGRATION_DATABASE_URL to the owner's URL`,
    );
  }
  const placeholders = deployment.topology.placeholders();
  // graphile-migrate derives :DATABASE_OWNER from the connection's user itself.
  delete placeholders[deployment.topology.role("owner").placeholder];
  const owner = new URL(endpoints.migrationUrl);
  return {
    ...base,
    migrationsFolder: migrationsFolder ?? path.resolve(PROJECT_ROOT, databaseFiles(spec).migrations),
    connectionString: endpoints.migrationUrl,
    // Only watch and commit use the shadow database (created through the root login), but graphile-migrate's
    // settings check wants one for status and uncommit too: the same server's <database>_shadow, which status
    // never connects to.
    shadowConnectionString: withLogin(
      endpoints.migrationUrl,
      decodeURIComponent(owner.username),
      decodeURIComponent(owner.password),
      `${endpoints.name}_shadow`,
    ),
    rootConnectionString: deployment.adminUrl,
    // Which database's migration record graphile-migrate reads and writes, where both share one
    // database (src/bootstrap/migration-sets.ts); set on every connection, harmless elsewhere.
    pgSettings: { ...base.pgSettings, [MIGRATION_SET_SETTING]: spec.folder },
    placeholders: { ...base.placeholders, ...placeholders },
    logger: verbose ? verboseLogger : quietLogger,
  };
}

const verboseLogger = new gm.Logger(() => (level, message) => {
  if (level === "debug") return;
  process.stderr.write(`[migrate] ${level === "info" ? "" : `${level}: `}${message}\n`);
});

/** graphile-migrate's info lines are noise on every start; warnings and errors still show. */
const quietLogger = new gm.Logger(() => (level, message) => {
  if (level === "info" || level === "debug") return;
  process.stderr.write(`[migrate] ${level}: ${message}\n`);
});

/**
 * graphile-migrate keeps its pools for a moment after use, and exits the
 * process if one of them errors; release them before a server they point at
 * is stopped.
 */
export function releaseMigrationPools(): void {
  clearAllPools();
}

export const MIGRATE_COMMANDS = ["migrate", "watch", "commit", "uncommit", "reset", "status"] as const;
export type MigrateCommand = (typeof MIGRATE_COMMANDS)[number];

/** Runs one graphile-migrate command; `status` answers what it found. */
export async function runMigrateCommand(command: MigrateCommand, settings: gm.Settings): Promise<{ pending: number; currentHasChanges: boolean } | void> {
  switch (command) {
    case "migrate":
      return migrateInTurn(settings);
    case "watch":
      return gm.watch(settings);
    case "commit":
      return gm.commit(settings);
    case "uncommit":
      return gm.uncommit(settings);
    case "reset":
      return gm.reset(settings);
    case "status": {
      const status = await gm.status(settings);
      return { pending: status.remainingMigrations?.length ?? 0, currentHasChanges: status.hasCurrentMigration };
    }
  }
}

/** What graphile-migrate throws, at once, when another process holds its advisory lock. */
const LOCK_TAKEN = "Failed to get exclusive lock";
/** How long a process waits for another one's migration before it gives up. */
const LOCK_WAIT_MS = 120_000;

/**
 * gm.migrate, waiting its turn: graphile-migrate refuses at once while another process holds its
 * lock, and every API process migrates as it starts, so several started together (behind a load
 * balancer, or a rolling deploy) would all fail but one. They wait instead; the first migrates and
 * the others then find nothing to do. Polled, since graphile-migrate only offers the try-lock.
 */
export async function migrateInTurn(settings: gm.Settings): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await gm.migrate(settings);
      return;
    } catch (error) {
      if (!(error instanceof Error) || error.message !== LOCK_TAKEN) throw error;
      if (Date.now() > deadline) throw new Error(`another process has held the migration lock for over ${LOCK_WAIT_MS / 1000} s (${LOCK_TAKEN})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export interface MigrateAllOptions {
  /** Other migration folders than the databases' own (tests that deploy a migration of their own). */
  readonly migrationsFolders?: Partial<Record<DatabaseKey, string>>;
  /** How one database's migrations are applied (`alwrity deploy` reports and explains); migrateInTurn by default. */
  readonly migrate?: (key: DatabaseKey, settings: gm.Settings) => Promise<void>;
}

/** Applies committed migrations to both databases, and the job queue's schema after the platform's. */
export async function migrateAll(deployment: Deployment, options: MigrateAllOptions = {}): Promise<void> {
  await prepareMigrationSets(deployment);
  for (const key of DATABASE_KEYS) {
    const settings = migrationSettings(deployment, key, false, options.migrationsFolders?.[key]);
    try {
      await (options.migrate ?? migrateOrSay)(key, settings);
    } finally {
      releaseMigrationPools();
    }
    if (key === "platform") await installJobQueue(settings.connectionString!, deployment.topology);
  }

  async function migrateOrSay(key: DatabaseKey, settings: gm.Settings): Promise<void> {
    try {
      await migrateInTurn(settings);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`migrating ${deployment.endpoints(key).name} (${redactUrl(settings.connectionString!)}) failed: ${reason}`);
    }
  }
}

/** Opens the configured deployment and brings both databases up to date; on failure nothing is left running. */
export async function openMigratedDeployment(config: Config): Promise<Deployment> {
  const deployment = await openDeployment(config);
  try {
    await migrateAll(deployment);
  } catch (error) {
    await deployment.close();
    throw error;
  }
  return deployment;
}
