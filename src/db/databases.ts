/**
 * The database service API: both databases, their pools and the operations
 * the backend needs on them, as one object made from a deployment. Nothing is
 * global: whoever creates it closes it.
 *
 *   seed (Python)             here
 *   get_platform_db           databases.platform    (withUserContext, withPlatformAdmin)
 *   get_user_data_db          databases.userData    (withUserContext)
 *   set_user_context          withUserContext(userId, fn)
 *   test_connections          databases.testConnections()
 *   get_database_info         databases.getDatabaseInfo()
 *   setup_row_level_security  databases.verifyRowLevelSecurity() (policies live in migrations)
 *   init_databases            initDatabases(config)   (src/bootstrap/init-databases.ts)
 *   close_databases           databases.close()
 */
import { FAIR_USE_DEFAULTS, type Config } from "../config.ts";
import { jsonLinesLogger, type Logger } from "../log.ts";
import { DATABASE_KEYS, type DatabaseKey } from "../topology.ts";
import { apiRoleNames, transactionSettings } from "./asking.ts";
import { testConnection, type ConnectionReport } from "./connection-check.ts";
import { databaseInfo, type DatabaseInfo } from "./database-info.ts";
import { platformDatabase, userDataDatabase, type PlatformDatabase, type UserDataDatabase, type UserScopedDatabase } from "./database.ts";
import type { Endpoints } from "./endpoints.ts";
import { listen, type ListenHandlers, type Listener } from "./listener.ts";
import { readAppliedMigrations } from "./migration-state.ts";
import { expectedSchema } from "./expected-schema.ts";
import { createPool, endPool } from "./pools.ts";
import { findRlsProblems, RowLevelSecurityError, type RlsFindings } from "./rls-check.ts";
import { runInRole, type PoolContext } from "./role-transaction.ts";
import { ServerStatements } from "./server-statements.ts";
import type { StatementObserver } from "./statement-timing.ts";
import { FairShares } from "./fair-use.ts";

export interface Databases {
  /** The platform database (get_platform_db): accounts, plans, subscriptions, usage. */
  readonly platform: PlatformDatabase;
  /** The user-data database (get_user_data_db): each user's content, reachable only as that user. */
  readonly userData: UserDataDatabase;
  /** Per database: reachable or not, latency, server version, login role. Never throws. */
  testConnections(): Promise<ConnectionReport[]>;
  /** Per database: size, tables with row estimates, RLS and policies, applied migrations, pool counts. */
  getDatabaseInfo(): Promise<DatabaseInfo[]>;
  /** Checks every per-user table for forced RLS and a policy per command; throws RowLevelSecurityError naming each gap. */
  verifyRowLevelSecurity(): Promise<Record<DatabaseKey, RlsFindings>>;
  /** Per database: the migrations graphile-migrate recorded as applied (file names), read through the API's own login. */
  appliedMigrations(): Promise<Record<DatabaseKey, string[]>>;
  /** The database of a key (the API serves both; each of its services names one). */
  database(key: DatabaseKey): UserScopedDatabase;
  /**
   * LISTENs on a channel of a database through a connection of its own (closed with the rest),
   * to `url` when given (DATABASE_LISTEN_URL: past a pooler that cannot LISTEN), else the API's URL.
   */
  listen(key: DatabaseKey, channel: string, handlers: ListenHandlers, url?: string): Listener;
  /** Drains and closes both pools (and whatever else this object opened). Safe to call more than once. */
  close(): Promise<void>;
}

export interface DatabasesOptions {
  /** Where pool errors and, with DATABASE_ECHO, statements are logged (JSON lines on stderr by default). */
  readonly logger?: Logger;
  /** Told of every statement on the pools' connections, with its duration (slow-statement log, metrics). */
  readonly onStatement?: StatementObserver;
  /** Runs after the pools are closed (initDatabases stops what it started). */
  readonly onClose?: () => Promise<void>;
}

/**
 * Creates the API object for a deployment's two databases; connections open
 * on first use. Made once per process and handed to whatever needs the
 * databases (the API, the schema export, the services).
 */
export function createDatabases(deployment: Endpoints, config: Pick<Config, "pool" | "echo"> & Partial<Pick<Config, "fairUse" | "poolerMode">>, options: DatabasesOptions = {}): Databases {
  const log = options.logger ?? jsonLinesLogger();
  const contexts = {} as Record<DatabaseKey, PoolContext>;
  for (const key of DATABASE_KEYS) {
    const target = { name: deployment[key].name, url: deployment[key].apiUrl };
    const fairUse = config.fairUse ?? FAIR_USE_DEFAULTS;
    const poolMax = config.pool.size + config.pool.maxOverflow;
    const shares = new FairShares(target.name, {
      perRequest: fairUse.perRequest,
      perUser: Math.max(1, Math.floor(fairUse.userShare * poolMax)),
      waitMs: config.pool.timeoutMs,
      poolMax,
    });
    // Behind a transaction pooler: what this pool knows of the server connections' prepared statements.
    const serverStatements = config.poolerMode === "transaction" ? new ServerStatements() : undefined;
    contexts[key] = {
      pool: createPool(target, config.pool, "alwrity-api", log, options.onStatement, { serverStatements }),
      target,
      settings: config.pool,
      log,
      echo: config.echo ? log : undefined,
      shares,
      statementTimeoutMs: fairUse.statementTimeoutMs,
      parallelWorkers: fairUse.parallelWorkers,
      serverStatements,
    };
  }
  const { topology } = deployment;
  const apiRoles = apiRoleNames(topology);
  const login = transactionSettings({ kind: "login" }, topology);
  const keys = DATABASE_KEYS;
  const platform = platformDatabase(contexts.platform, topology);
  const userData = userDataDatabase(contexts.userData, topology);
  let closing: Promise<void> | undefined;
  const listeners = new Set<Listener>();

  return {
    platform,
    userData,
    database: (key) => (key === "platform" ? platform : userData),
    testConnections: () => Promise.all(keys.map((key) => testConnection(key, contexts[key], login))),
    getDatabaseInfo: () =>
      Promise.all(
        keys.map(async (key) => {
          const info = await databaseInfo(key, contexts[key], login, deployment[key].migrationUrl);
          const pool = contexts[key].pool;
          return { ...info, pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } };
        }),
      ),
    async appliedMigrations() {
      const applied = {} as Record<DatabaseKey, string[]>;
      for (const key of keys) {
        // Readable by the login through a grant of its own (migration platform/000005, user_data/000006).
        const rows = await runInRole(contexts[key], login, { key, asking: "login" }, (session) =>
          readAppliedMigrations<{ filename: string }>((sql, values) => session.query(sql, values), topology.database(key).folder, "filename", true),
        );
        applied[key] = rows.map((r) => r.filename);
      }
      return applied;
    },
    async verifyRowLevelSecurity() {
      const findings = {} as Record<DatabaseKey, RlsFindings>;
      for (const key of keys) findings[key] = await runInRole(contexts[key], login, { key, asking: "login" }, (session) => findRlsProblems(session, apiRoles, expectedSchema(key)));
      const problems = keys.flatMap((key) => findings[key].problems.map((p) => `${contexts[key].target.name}: ${p}`));
      if (problems.length > 0) throw new RowLevelSecurityError(problems);
      return findings;
    },
    listen(key, channel, handlers, url) {
      const listener = listen(url ?? deployment[key].apiUrl, channel, handlers, log);
      listeners.add(listener);
      return listener;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...listeners].map((l) => l.close()));
        await Promise.all(keys.map((key) => endPool(contexts[key].pool, 2000)));
        await options.onClose?.();
      })();
      return closing;
    },
  };
}
