/**
 * A request that fails because a database is away (unreachable, shutting
 * down, starting up, connection lost) or its pool is exhausted is not the
 * client's fault and not a bug: it is answered with HTTP 503, a Retry-After
 * header and a stable code in the GraphQL error's extensions
 * (DATABASE_UNAVAILABLE or DATABASE_BUSY), with a message that names the
 * database and never a password or the driver's text.
 *
 * The error mask (errors.ts) and the auth gate recognise such errors with
 * `unavailability`; the mask records it for the request, and this plugin's
 * middleware, around everything else, turns the response into a 503.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";
import { ConnectionShareExceededError } from "../../db/fair-use.ts";
import { DatabaseUnreachableError, PoolExhaustedError } from "../../db/pools.ts";

export interface Unavailability {
  /** TOO_MANY_CONNECTIONS: the user already holds their share of a pool (fair-use.ts); answered with 429. */
  code: "DATABASE_UNAVAILABLE" | "DATABASE_BUSY" | "TOO_MANY_CONNECTIONS";
  message: string;
}

/** SQLSTATEs that mean the server is going or gone (57P0x) or the connection broke (08xxx). */
const SERVER_AWAY = /^(57P0[1-4]|08\d\d\d)$/;
/**
 * The server has no connection slot left (SQLSTATE 53300: "sorry, too many clients already",
 * "remaining connection slots are reserved for …"). The server is up and answering, it is
 * full: the same as an exhausted pool of ours, so DATABASE_BUSY, not DATABASE_UNAVAILABLE.
 * The messages are matched too, for errors that reach us without their SQLSTATE.
 */
const SERVER_FULL_CODE = "53300";
const SERVER_FULL = /too many clients already|remaining connection slots are reserved/i;
/** What node and node-postgres say when a connection cannot be made or was lost. */
const CONNECTION_LOST =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection terminated|connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|the database system is (shutting down|starting up|in recovery mode)/i;

/** The database our pool errors name (src/db/pools.ts), wherever one sits in the chain. */
function databaseNamed(error: Error): string | undefined {
  return causesOf(error).find((e): e is PoolExhaustedError | DatabaseUnreachableError => e instanceof PoolExhaustedError || e instanceof DatabaseUnreachableError)?.database;
}

/** The error, what it wraps (`cause`) and what it aggregates, all the way down. */
function causesOf(error: Error, depth = 0): Error[] {
  if (depth > 5) return [error];
  const inner = [...(error instanceof AggregateError ? error.errors : []), error.cause].filter((e): e is Error => e instanceof Error);
  return [error, ...inner.flatMap((e) => causesOf(e, depth + 1))];
}

/** Whether `error` means a database is unavailable or busy, and what to tell the client. */
export function unavailability(error: unknown): Unavailability | undefined {
  if (!(error instanceof Error)) return undefined;
  const database = databaseNamed(error);
  const where = database ? `the ${database} database` : "a database";
  if (error instanceof ConnectionShareExceededError) {
    return { code: "TOO_MANY_CONNECTIONS", message: "too many of your requests are using the database at once; try again shortly" };
  }
  const serverFull = causesOf(error).some((e) => (e as { code?: unknown }).code === SERVER_FULL_CODE || SERVER_FULL.test(e.message));
  if (error instanceof PoolExhaustedError || serverFull || /timeout exceeded when trying to connect/i.test(error.message)) {
    return { code: "DATABASE_BUSY", message: `${where} is busy (${serverFull ? "the server has no connection slot left" : "all connections in use"}); try again shortly` };
  }
  const lost = causesOf(error).some(
    (e) => e instanceof DatabaseUnreachableError || SERVER_AWAY.test(String((e as { code?: unknown }).code ?? "")) || CONNECTION_LOST.test(`${e.message} ${String((e as { code?: unknown }).code ?? "")}`),
  );
  if (lost) {
    return { code: "DATABASE_UNAVAILABLE", message: `${where} is unavailable; try again shortly` };
  }
  return undefined;
}

/** Per request: the first unavailability the error mask met, if any. */
const seen = new AsyncLocalStorage<{ problem?: Unavailability }>();

/** Called by the error mask: remember that this request failed for want of a database. */
export function noteUnavailability(problem: Unavailability): void {
  const store = seen.getStore();
  if (store && !store.problem) store.problem = problem;
}

export function databaseUnavailablePlugin(retryAfterSeconds: number): GraphileConfig.Plugin {
  return {
    name: "AlwrityDatabaseUnavailablePlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next) {
          const store: { problem?: Unavailability } = {};
          const result = await seen.run(store, next);
          if (store.problem && result && (result.type === "buffer" || result.type === "json")) {
            result.statusCode = store.problem.code === "TOO_MANY_CONNECTIONS" ? 429 : 503;
            result.headers = { ...result.headers, "retry-after": String(retryAfterSeconds) };
          }
          return result;
        },
      },
    },
  };
}
