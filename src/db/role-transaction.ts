/**
 * The one way anything runs statements on a pooled connection: a transaction
 * that takes on who is asking (asking.ts) transaction-locally, runs a
 * callback, and commits, or rolls back when the callback fails. The settings
 * are applied with set_config(..., true), the function form of SET LOCAL, so
 * they end with the transaction; after it the connection is checked, and one
 * that still carries a role, or a user id other than the one it had before
 * (a callback ran a session-level SET), is closed instead of going back to
 * the pool. The services (runInRole, over a Session) and the GraphQL API
 * (withRoleClient, over PostGraphile's client) both come through here.
 */
import type pg from "pg";
import type { PoolSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import type { DatabaseKey } from "../topology.ts";
import type { Asking, TransactionSettings } from "./asking.ts";
import { beginStatement } from "./begin-statement.ts";
import { cancelOnAbort, requestBudget, type FairShares, type RequestBudget } from "./fair-use.ts";
import { checkout, describe, type PoolTarget } from "./pools.ts";
import { FORGET_SERVER_CONNECTION, type ServerStatements } from "./server-statements.ts";
import { echoingRunner, openSession, type Runner, type ScopedSession } from "./session.ts";

export interface PoolContext {
  readonly pool: pg.Pool;
  readonly target: PoolTarget;
  readonly settings: PoolSettings;
  readonly log: Logger;
  /** Set when DATABASE_ECHO is on. */
  readonly echo: Logger | undefined;
  /** Who holds how much of the pool (fair-use.ts). */
  readonly shares: FairShares;
  /** DB_STATEMENT_TIMEOUT, in milliseconds. */
  readonly statementTimeoutMs: number;
  /** DB_MAX_PARALLEL_WORKERS: each transaction's max_parallel_workers_per_gather. */
  readonly parallelWorkers: number;
  /** DATABASE_POOLER_MODE=transaction: each transaction may reach another server connection (server-statements.ts). */
  readonly serverStatements?: ServerStatements;
}


/**
 * Runs `use` with the transaction's raw connection. For adaptors that need a
 * pg client (PostGraphile); everything else uses runInRole.
 */
export async function withRoleClient<T>(ctx: PoolContext, settings: TransactionSettings, use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  // Inside a request (the API sets its budget): wait for this request's and this user's share first.
  const budget = requestBudget.getStore();
  const releaseShare = budget ? await ctx.shares.acquire(budget) : undefined;
  let client: pg.PoolClient;
  try {
    client = await checkout(ctx.pool, ctx.target, ctx.settings);
  } catch (error) {
    releaseShare?.();
    throw error;
  }
  const stopWatching = budget ? cancelOnAbort(client, ctx.target.url, budget.signal) : undefined;
  try {
    return await inTransaction(ctx, client, settings, statementTimeout(ctx, budget), use);
  } finally {
    stopWatching?.();
    releaseShare?.();
  }
}

/** DB_STATEMENT_TIMEOUT, or less when the request's own time ends sooner (at least 1 ms: 0 would mean none). */
function statementTimeout(ctx: PoolContext, budget: RequestBudget | undefined): string {
  const left = budget ? Math.max(1, budget.deadline - Date.now()) : Infinity;
  return `${Math.ceil(Math.min(ctx.statementTimeoutMs, left))}ms`;
}

async function inTransaction<T>(ctx: PoolContext, client: pg.PoolClient, settings: TransactionSettings, timeout: string, use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const run = echoingRunner(client, ctx.target.name, ctx.echo);
  let outcome: "commit" | "rollback" = "rollback";
  let before: string | undefined;
  let result: T;
  try {
    const begin = beginStatement(client, settings, { statementTimeout: timeout, parallelWorkers: ctx.parallelWorkers, serverConnection: !!ctx.serverStatements });
    type Begun = pg.QueryResult<{ before: string; server_connection?: string | null }>[];
    let state = ((await run(begin)) as Begun)[1]!.rows[0]!;
    // Behind a transaction pooler: the driver's named statements are this process's on the server connection reached.
    const afresh = ctx.serverStatements?.use(client, state.server_connection ?? null);
    if (afresh) {
      state = ((await run(afresh + begin)) as Begun).at(-1)!.rows[0]!;
      ctx.serverStatements!.use(client, state.server_connection ?? null);
    }
    before = state.before;
    result = await use(client);
    outcome = "commit";
  } finally {
    const ended = await finish(run, outcome, before, ctx.serverStatements?.memoryWasWrong(client) ? FORGET_SERVER_CONNECTION : undefined);
    if (ended.leftover) ctx.log("connection_discarded", { database: ctx.target.name, reason: ended.leftover });
    // release(error) closes the connection rather than returning it to the pool.
    client.release(ended.leftover ? new Error(ended.leftover) : undefined);
    if (outcome === "commit" && ended.error) {
      // The driver's SQLSTATE stays on the error, so callers can tell a lost connection (57P01, 08xxx) from a bug.
      const failure = new Error(`${ctx.target.name}: commit failed: ${describe(ended.error)}`, { cause: ended.error });
      throw Object.assign(failure, { code: (ended.error as { code?: unknown }).code });
    }
    if (outcome === "commit" && ended.command === "ROLLBACK") {
      throw new Error(`${ctx.target.name}: nothing was committed: a statement failed inside the callback and its error was caught there`);
    }
  }
  return result;
}

/** Runs `fn` with a session that stops working when the transaction ends. */
export function runInRole<T, D extends DatabaseKey, A extends Asking["kind"]>(
  ctx: PoolContext,
  settings: TransactionSettings,
  scope: { key: D; asking: A },
  fn: (session: ScopedSession<D, A>) => Promise<T>,
): Promise<T> {
  return withRoleClient(ctx, settings, async (client) => {
    const open = openSession(client, { ...scope, name: ctx.target.name }, ctx.echo);
    try {
      return await fn(open.session);
    } finally {
      open.close();
    }
  });
}

interface Ended {
  /** COMMIT, or ROLLBACK (also what PostgreSQL answers to a commit of a failed transaction). */
  command?: string;
  /** Why the connection must not be reused, if it must not. */
  leftover?: string;
  error?: unknown;
}

/**
 * Ends the transaction and checks, in the same round trip, that no role
 * outlives it and that the user id is back to what the session had before
 * (empty, or a role's default: a value the transaction did not put there).
 */
async function finish(run: Runner, outcome: "commit" | "rollback", before: string | undefined, after = ""): Promise<Ended> {
  try {
    const results = (await run(
      `${outcome}; select current_user = session_user as role_reset, coalesce(current_setting('app.current_user_id', true), '') as user_id${after && `; ${after}`}`,
    )) as pg.QueryResult[];
    const ended = results[0]!;
    const state = results[1]!.rows[0] as { role_reset: boolean; user_id: string };
    const userReset = before === undefined ? state.user_id === "" : state.user_id === before;
    const leftover = [!state.role_reset && "a role", !userReset && "a user id"].filter(Boolean).join(" and ");
    return { command: ended.command, leftover: leftover ? `the connection kept ${leftover} after its transaction (session-level SET)` : undefined };
  } catch (error) {
    return { error, leftover: `its state is unknown after a failed ${outcome}` };
  }
}
