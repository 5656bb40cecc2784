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
import type { AdminSession, QueueSession, ScopedSession, UserSession, WorkerSession } from "./session.ts";

export interface PoolStats {
  /** Connections open (idle or in use). */
  readonly total: number;
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
}

export interface UserScopedDatabase<K extends DatabaseKey = DatabaseKey> {
  readonly key: K;
  readonly name: string;
  /**
   * Runs `fn` as the signed-in user `userId` (a platform users.id): one
   * transaction, role authenticated_users, app.current_user_id set
   * transaction-locally, committed when `fn` resolves and rolled back when it
   * throws. Row-level security limits every statement to that user's rows.
   */
  withUserContext<T>(userId: string, fn: (session: UserSession<K>) => Promise<T>): Promise<T>;
  /** Runs `fn` as nobody (the anonymous role, an empty user id), in one transaction. */
  withAnonymous<T>(fn: (session: ScopedSession<K, "anonymous">) => Promise<T>): Promise<T>;
  /**
   * For the GraphQL API's adaptor only (src/api/graphql/pg-adaptor.ts): the same
   * transaction and checks, with PostGraphile's settings (which it takes from
   * transactionSettings) and the raw connection PostGraphile's client wraps.
   */
  withSettingsClient<T>(settings: TransactionSettings, use: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  poolStats(): PoolStats;
}

export interface PlatformDatabase extends UserScopedDatabase<"platform"> {
  /**
   * Runs `fn` as the platform admin (trusted services: registering users,
   * recording usage, changing plans), in one transaction. Only the platform
   * database has this: the admin has no access to users' content.
   */
  withPlatformAdmin<T>(fn: (session: AdminSession) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` as the job worker's role, in one transaction: it reaches the job
   * queue (graphile_worker) and nothing of the platform's own tables. For what
   * reads the queue from outside the worker (its depth, for the metrics).
   */
  withQueue<T>(fn: (session: QueueSession) => Promise<T>): Promise<T>;
}

export interface UserDataDatabase extends UserScopedDatabase<"userData"> {
  /**
   * Runs `fn` as the job worker's role, in one transaction: it may call the
   * worker's backend functions (user_data_backend: entitlements) and read or
   * write nothing else. Only the user-data database has this.
   */
  withWorker<T>(fn: (session: WorkerSession) => Promise<T>): Promise<T>;
}

export function userScopedDatabase<K extends DatabaseKey>(key: K, ctx: PoolContext, topology: Topology): UserScopedDatabase<K> {
  const as = <T, A extends Asking>(asking: A, fn: (session: ScopedSession<K, A["kind"]>) => Promise<T>): Promise<T> => {
    let settings: TransactionSettings;
    try {
      settings = transactionSettings(asking, topology);
    } catch (error) {
      return Promise.reject(error);
    }
    return runInRole(ctx, settings, { key, asking: asking.kind }, fn);
  };
  return {
    key,
    name: ctx.target.name,
    withUserContext: (userId, fn) => as({ kind: "user" as const, userId }, fn),
    withAnonymous: (fn) => as({ kind: "anonymous" as const }, fn),
    withSettingsClient: (settings, use) => withRoleClient(ctx, settings, use),
    poolStats: () => ({ total: ctx.pool.totalCount, idle: ctx.pool.idleCount, waiting: ctx.pool.waitingCount }),
  };
}

export function platformDatabase(ctx: PoolContext, topology: Topology): PlatformDatabase {
  const base = userScopedDatabase("platform", ctx, topology);
  return {
    ...base,
    withPlatformAdmin: (fn) => runInRole(ctx, transactionSettings({ kind: "platformAdmin" }, topology), { key: "platform", asking: "platformAdmin" }, fn),
    withQueue: (fn) => runInRole(ctx, transactionSettings({ kind: "worker" }, topology), { key: "platform", asking: "worker" }, fn),
  };
}

export function userDataDatabase(ctx: PoolContext, topology: Topology): UserDataDatabase {
  const base = userScopedDatabase("userData", ctx, topology);
  return {
    ...base,
    withWorker: (fn) => runInRole(ctx, transactionSettings({ kind: "worker" }, topology), { key: "userData", asking: "worker" }, fn),
  };
}
