/**
 * A handle on one database as the API reaches it. Its methods are the only
 * ways in: each runs a callback in one transaction under a role, so nothing a
 * callback does is visible to, or survives into, the next use of the pooled
 * connection.
 */
import type { DatabaseKey } from "../topology.ts";
import { runInRole, type PoolContext } from "./role-transaction.ts";
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

export interface DatabaseRoles {
  readonly authenticated: string;
  readonly platformAdmin: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function userScopedDatabase(key: DatabaseKey, ctx: PoolContext, roles: DatabaseRoles): UserScopedDatabase {
  return {
    key,
    name: ctx.target.name,
    withUserContext(userId, fn) {
      // The database would treat a malformed id as "nobody"; a caller passing one has a bug worth hearing about.
      if (typeof userId !== "string" || !UUID.test(userId)) {
        return Promise.reject(new TypeError(`withUserContext needs a user id (a uuid), got ${JSON.stringify(userId)}`));
      }
      return runInRole(ctx, { role: roles.authenticated, userId }, fn);
    },
    poolStats: () => ({ total: ctx.pool.totalCount, idle: ctx.pool.idleCount, waiting: ctx.pool.waitingCount }),
  };
}

export function platformDatabase(ctx: PoolContext, roles: DatabaseRoles): PlatformDatabase {
  return {
    ...userScopedDatabase("platform", ctx, roles),
    withPlatformAdmin: (fn) => runInRole(ctx, { role: roles.platformAdmin, userId: null }, fn),
  };
}
