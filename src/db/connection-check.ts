/**
 * testConnections: can each database be reached, how fast does it answer,
 * which server is it and as whom are we connected. Never throws: a database
 * that cannot be reached is reported as such, with the reason.
 */
import type { DatabaseKey } from "../topology.ts";
import type { TransactionSettings } from "./asking.ts";
import { describe } from "./pools.ts";
import { runInRole, type PoolContext } from "./role-transaction.ts";

export interface ConnectionReport {
  readonly key: DatabaseKey;
  readonly database: string;
  readonly reachable: boolean;
  /** One query's round trip, in milliseconds. */
  readonly latencyMs?: number;
  readonly serverVersion?: string;
  /** The login role (the authenticator). */
  readonly connectedAs?: string;
  /** Why the database could not be reached. */
  readonly error?: string;
}

/** `login`: no role of the API's (catalog reads need none, and the login's own rights are nil). */
export async function testConnection(key: DatabaseKey, ctx: PoolContext, login: TransactionSettings): Promise<ConnectionReport> {
  const database = ctx.target.name;
  try {
    return await runInRole(ctx, login, { key, asking: "login" }, async (session) => {
      const started = performance.now();
      const { rows } = await session.query<{ login: string; version: string }>(
        "select session_user as login, current_setting('server_version') as version",
      );
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      return { key, database, reachable: true, latencyMs, serverVersion: rows[0]!.version, connectedAs: rows[0]!.login };
    });
  } catch (error) {
    return { key, database, reachable: false, error: describe(error) };
  }
}
