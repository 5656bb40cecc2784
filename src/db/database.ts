/**
 * A handle on one database as the API reaches it. Its methods are the only
 * ways in: each runs a callback in one transaction as someone (asking.ts), so
 * nothing a callback does is visible to, or survives into, the next use of
 * the pooled connection.
 */
import type pg from "pg";
import type { DatabaseKey, Topology } from "../topology.ts";
import { transactionSettings, type Asking, type TransactionSettings } from "./asking.ts";
import { runInRole, withRoleClient, type PoolContext } from "./role-transaction.ts";
import type { Session } from "./session.ts";

export interface PoolStats {
  /** Connections open (idle or in use). */
  readonly total: number;
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
}

export interface UserScopedDatabase {
  readonly key: DatabaseKey;
  readonly name: string;
  /**
   * Runs `fn` as the signed-in user `userId` (a platform users.id): one
   * transaction, role authenticated_users, app.current_user_id set
   * transaction-locally, committed when `fn` resolves and rolled back when it
   * throws. Row-level security limits every statement to that user's rows.
   */
  withUserContext<T>(userId: string, fn: (session: Session) => Promise<T>): Promise<T>;
  /** Runs `fn` as nobody (the anonymous role, an empty user id), in one transaction. */
  withAnonymous<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  /**
   * For the GraphQL API's adaptor only (src/api/pg-adaptor.ts): the same
   * transaction and checks, with PostGraphile's settings (which it takes from
   * transactionSettings) and the raw connection PostGraphile's client wraps.
   */
  withSettingsClient<T>(settings: TransactionSettings, use: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  poolStats(): PoolStats;
}

export interface PlatformDatabase extends UserScopedDatabase {
  /**
   * Runs `fn` as the platform admin (trusted services: registering users,
   * recording usage, changing plans), in one transaction. Only the platform
   * database has this: the admin has no access to users' content.
   */
  withPlatformAdmin<T>(fn: (session: Session) => Promise<T>): Promise<T>;
}

export function userScopedDatabase(key: DatabaseKey, ctx: PoolContext, topology: Topology): UserScopedDatabase {
  const as = <T>(asking: Asking, fn: (session: Session) => Promise<T>): Promise<T> => {
    let settings: TransactionSettings;
    try {
      settings = transactionSettings(asking, topology);
    } catch (error) {
      return Promise.reject(error);
    }
    return runInRole(ctx, settings, fn);
  };
  return {
    key,
    name: ctx.target.name,
    withUserContext: (userId, fn) => as({ kind: "user", userId }, fn),
    withAnonymous: (fn) => as({ kind: "anonymous" }, fn),
    withSettingsClient: (settings, use) => withRoleClient(ctx, settings, use),
    poolStats: () => ({ total: ctx.pool.totalCount, idle: ctx.pool.idleCount, waiting: ctx.pool.waitingCount }),
  };
}

export function platformDatabase(ctx: PoolContext, topology: Topology): PlatformDatabase {
  const base = userScopedDatabase("platform", ctx, topology);
  return {
    ...base,
    withPlatformAdmin: (fn) => runInRole(ctx, transactionSettings({ kind: "platformAdmin" }, topology), fn),
  };
}
