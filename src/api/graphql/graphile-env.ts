/**
 * Grafast reads GRAPHILE_ENV when it is first imported: development mode adds
 * checks and clearer errors, production mode is faster. Entry points import
 * this module first so the mode follows ENVIRONMENT unless set explicitly.
 */
process.env.GRAPHILE_ENV ??= process.env.ENVIRONMENT === "production" ? "production" : "development";

/**
 * Behind a pooler in transaction mode (DATABASE_POOLER_MODE=transaction, validated by
 * config.ts) consecutive transactions may reach different server connections, so
 * PostGraphile's pg adaptor must not rely on session state: no named prepared
 * statements (PgBouncer before 1.21 cannot carry them: "prepared statement … does not
 * exist") and no session-level `SET jit_optimize_above_cost` on each new connection.
 * The adaptor reads both variables when first imported, hence here.
 */
if (process.env.DATABASE_POOLER_MODE?.trim() === "transaction") {
  process.env.DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE = "0";
  process.env.DATAPLAN_PG_DONT_DISABLE_JIT = "1";
}
