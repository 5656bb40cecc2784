/**
 * Grafast reads GRAPHILE_ENV when it is first imported: development mode adds
 * checks and clearer errors, production mode is faster. Entry points import
 * this module first so the mode follows ENVIRONMENT unless set explicitly.
 */
process.env.GRAPHILE_ENV ??= process.env.ENVIRONMENT === "production" ? "production" : "development";

/**
 * Behind a pooler in transaction mode (DATABASE_POOLER_MODE=transaction, validated by
 * config.ts) consecutive transactions may reach different server connections, so
 * PostGraphile's pg adaptor must not rely on session state: no session-level
 * `SET jit_optimize_above_cost` on each new connection (the adaptor reads this variable
 * when first imported, hence here). Its named prepared statements stay: each
 * transaction tells the driver which ones the server connection it reached holds
 * (src/db/server-statements.ts).
 */
if (process.env.DATABASE_POOLER_MODE?.trim() === "transaction") {
  process.env.DATAPLAN_PG_DONT_DISABLE_JIT = "1";
}
