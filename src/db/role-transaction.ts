/**
 * The one way the API runs statements on a pooled connection: a transaction
 * that takes on a role (and a user id) transaction-locally, runs a callback,
 * and commits, or rolls back when the callback fails. Role and user id are set
 * with set_config(..., true), the function form of SET LOCAL, so they end with
 * the transaction; after it the connection is checked, and one that still
 * carries a role or a user id (a callback ran a session-level SET) is closed
 * instead of going back to the pool.
 */
import type pg from "pg";
import type { PoolSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { checkout, describe, type PoolTarget } from "./pools.ts";
import { openSession, type OpenSession, type Session } from "./session.ts";

export interface PoolContext {
  readonly pool: pg.Pool;
  readonly target: PoolTarget;
  readonly settings: PoolSettings;
  readonly log: Logger;
  /** Set when DATABASE_ECHO is on. */
  readonly echo: Logger | undefined;
}

export interface Scope {
  /** The role the transaction runs as (authenticated_users or the platform admin). */
  readonly role: string;
  /** The signed-in user, or null for none. */
  readonly userId: string | null;
}

export async function runInRole<T>(ctx: PoolContext, scope: Scope, fn: (session: Session) => Promise<T>): Promise<T> {
  const client = await checkout(ctx.pool, ctx.target, ctx.settings);
  const open = openSession(client, ctx.target.name, ctx.echo);
  let outcome: "commit" | "rollback" = "rollback";
  let result: T;
  try {
    await open.internal("begin");
    // An empty user id, not an absent one: a session-level value could otherwise show through.
    await open.internal("select set_config('role', $1, true), set_config('app.current_user_id', $2, true)", [scope.role, scope.userId ?? ""]);
    result = await fn(open.session);
    outcome = "commit";
  } finally {
    open.close();
    const ended = await finish(open, outcome);
    if (ended.leftover) ctx.log("connection_discarded", { database: ctx.target.name, reason: ended.leftover });
    // release(error) closes the connection rather than returning it to the pool.
    client.release(ended.leftover ? new Error(ended.leftover) : undefined);
    if (outcome === "commit" && ended.error) throw new Error(`${ctx.target.name}: commit failed: ${ended.error}`);
    if (outcome === "commit" && ended.command === "ROLLBACK") {
      throw new Error(`${ctx.target.name}: nothing was committed: a statement failed inside the callback and its error was caught there`);
    }
  }
  return result;
}

interface Ended {
  /** COMMIT, or ROLLBACK (also what PostgreSQL answers to a commit of a failed transaction). */
  command?: string;
  /** Why the connection must not be reused, if it must not. */
  leftover?: string;
  error?: string;
}

/** Ends the transaction and checks, in the same round trip, that no role or user id outlives it. */
async function finish(open: OpenSession, outcome: "commit" | "rollback"): Promise<Ended> {
  try {
    const results = (await open.internal(
      `${outcome}; select current_user = session_user as role_reset, coalesce(current_setting('app.current_user_id', true), '') = '' as user_reset`,
    )) as pg.QueryResult[];
    const ended = results[0]!;
    const state = results[1]!.rows[0] as { role_reset: boolean; user_reset: boolean };
    const leftover = [!state.role_reset && "a role", !state.user_reset && "a user id"].filter(Boolean).join(" and ");
    return { command: ended.command, leftover: leftover ? `the connection kept ${leftover} after its transaction (session-level SET)` : undefined };
  } catch (error) {
    return { error: describe(error), leftover: `its state is unknown after a failed ${outcome}` };
  }
}
