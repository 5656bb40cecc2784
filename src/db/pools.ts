/**
 * One pg pool per database, sized and timed from the validated configuration
 * (the seed's DB_POOL_* variables).
 */
import pg from "pg";
import type { PoolSettings } from "../config.ts";

export function createPool(connectionString: string, settings: PoolSettings, applicationName: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    application_name: applicationName,
    // DB_POOL_SIZE connections are the steady state; DB_MAX_OVERFLOW more may open under load.
    max: settings.size + settings.maxOverflow,
    connectionTimeoutMillis: settings.timeoutMs,
    maxLifetimeSeconds: settings.recycleSeconds,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that dies (server restart, admin termination) must not crash the process;
  // the pool drops it and opens a new one when needed.
  pool.on("error", (error) => {
    process.stderr.write(JSON.stringify({ level: "warn", message: "idle database connection lost", application: applicationName, error: error.message }) + "\n");
  });
  return pool;
}
