/**
 * One pg pool per database, sized and timed from the validated configuration
 * (the seed's DB_POOL_* variables), and the one way to take a connection from
 * it: a wait that ends with an error naming the database, never a hang.
 */
import pg from "pg";
import type { PoolSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import type { ServerStatements } from "./server-statements.ts";
import { timedClientClass, type StatementObserver } from "./statement-timing.ts";

/** A database as the API reaches it: its name (for messages) and its URL. */
export interface PoolTarget {
  readonly name: string;
  readonly url: string;
}

export function createPool(
  target: PoolTarget,
  settings: PoolSettings,
  applicationName: string,
  log: Logger,
  onStatement?: StatementObserver,
  options: { serverStatements?: ServerStatements } = {},
): pg.Pool {
  const timed = onStatement ? timedClientClass(target.name, onStatement) : pg.Client;
  // Behind a transaction pooler, named statements carry the pool's prefix (server-statements.ts).
  const Client = options.serverStatements ? options.serverStatements.clientClass(timed) : timed;
  const pool = new pg.Pool({
    ...(Client === pg.Client ? {} : { Client }),
    connectionString: target.url,
    application_name: applicationName,
    // DB_POOL_SIZE connections are the steady state; DB_MAX_OVERFLOW more may open under load.
    max: settings.size + settings.maxOverflow,
    connectionTimeoutMillis: settings.timeoutMs,
    maxLifetimeSeconds: settings.recycleSeconds,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that fails (server restart, network) is dropped by the pool;
  // without a listener its error would end the process.
  // After end(), connections still closing may see the server go away: expected, not logged.
  pool.on("error", (error) => {
    if (!pool.ended) log("pool_connection_error", { database: target.name, message: error.message });
  });
  // A connection that is checked out (by a request, by PostGraphile) and loses its server
  // between statements emits `error` on the client, where the pool listens only while it is
  // idle: without this listener a server restart or pg_terminate_backend ends the process.
  // The statement that was running fails on its own; pg-pool then drops the dead client.
  pool.on("connect", (client) => {
    client.on("error", (error) => {
      if (!pool.ended) log("connection_lost", { database: target.name, message: error.message });
    });
  });
  const checkedOut = new Set<pg.PoolClient>();
  pool.on("acquire", (client) => checkedOut.add(client));
  pool.on("release", (_error, client) => checkedOut.delete(client));
  inUse.set(pool, checkedOut);
  return pool;
}

const inUse = new WeakMap<pg.Pool, Set<pg.PoolClient>>();

/**
 * Ends a pool: waits up to `graceMs` for checked-out connections to come back,
 * then closes those that have not (a statement of a request that was cut off at
 * shutdown may wait on a lock for as long as statement_timeout allows); their
 * statements fail and the pool can finish.
 */
export async function endPool(pool: pg.Pool, graceMs: number): Promise<void> {
  const ended = pool.end();
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([ended.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
  clearTimeout(timer);
  if (!late) return;
  for (const client of inUse.get(pool) ?? []) void (client as pg.PoolClient & pg.Client).end().catch(() => undefined);
  await ended;
}

/** Every connection of the pool stayed busy for DB_POOL_TIMEOUT. */
export class PoolExhaustedError extends Error {
  override name = "PoolExhaustedError";
  /** The database whose pool it was (the API names it in its 503). */
  readonly database: string;
  constructor(database: string, message: string) {
    super(message);
    this.database = database;
  }
}

export function poolExhausted(name: string, max: number, timeoutMs: number): PoolExhaustedError {
  return new PoolExhaustedError(name, `${name}: pool exhausted: all ${max} connections (DB_POOL_SIZE + DB_MAX_OVERFLOW) stayed busy for ${timeoutMs / 1000}s (DB_POOL_TIMEOUT)`);
}

/** The database could not be reached (or refused the login). */
export class DatabaseUnreachableError extends Error {
  override name = "DatabaseUnreachableError";
  /** The database that could not be reached (the API names it in its 503). */
  readonly database: string;
  constructor(database: string, message: string) {
    super(message);
    this.database = database;
  }
}

/** Takes a connection, turning pg's timeouts and socket errors into errors that say what happened where. */
export async function checkout(pool: pg.Pool, target: PoolTarget, settings: PoolSettings): Promise<pg.PoolClient> {
  if (pool.ended) throw new Error(`${target.name}: the database API was closed (closeDatabases); create a new one`);
  const max = settings.size + settings.maxOverflow;
  // Decided before waiting: a full pool means the wait is for a free connection, not for the server.
  const full = pool.totalCount >= max && pool.idleCount === 0;
  try {
    return await pool.connect();
  } catch (error) {
    if (full && /timeout/i.test(describe(error))) {
      throw poolExhausted(target.name, max, settings.timeoutMs);
    }
    throw new DatabaseUnreachableError(target.name, `cannot connect to ${target.name} at ${hostOf(target.url)}: ${describe(error)}`);
  }
}

function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
}

/** pg reports a refused localhost connection as an AggregateError without a message. */
export function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describe).join("; ");
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
