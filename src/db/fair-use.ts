/**
 * Fair use of a pool. A request (its budget, set by the API for the duration
 * of a request) holds at most DB_MAX_CONNECTIONS_PER_REQUEST connections of a
 * pool at once, and one user (all anonymous callers count as one) at most
 * DB_MAX_USER_POOL_SHARE of it: one user's request with many parallel lists
 * waits for its own connections instead of taking everyone else's. A request
 * that cannot get its share within DB_POOL_TIMEOUT (or its own deadline) fails
 * with ConnectionShareExceededError, answered with 429 and Retry-After.
 *
 * The budget also carries the request's deadline (API_REQUEST_TIMEOUT) and an
 * abort signal (the client went away, or the deadline passed): statements
 * running for it are cancelled then, with the protocol's cancel request (no
 * pool connection needed), instead of running on to statement_timeout.
 *
 * Written here rather than taken from a library: the accounting must sit on
 * the one path every statement takes (role-transaction.ts), keyed by who is
 * asking, and no pool library offers per-key limits.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { poolExhausted } from "./pools.ts";

export interface RequestBudget {
  /** Whose share the connections count against: a user id, or "anonymous". */
  readonly holder: string;
  /** Epoch milliseconds when the request's time is up. */
  readonly deadline: number;
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
}

export const requestBudget = new AsyncLocalStorage<RequestBudget>();

/** One user already holds their share of a pool, and held it for as long as a request may wait. */
export class ConnectionShareExceededError extends Error {
  override name = "ConnectionShareExceededError";
}

/** The request was abandoned (client gone) or ran out of time before it got a connection. */
export class RequestAbortedError extends Error {
  override name = "RequestAbortedError";
  readonly code = "57014"; // query_canceled: what PostgreSQL says for a cancelled statement
}

export interface FairUseLimits {
  perRequest: number;
  perUser: number;
  /** How long to wait for a share, in milliseconds. */
  waitMs: number;
  /** The pool's size (DB_POOL_SIZE + DB_MAX_OVERFLOW). */
  poolMax: number;
}

/** Per pool: who holds how many connections, and who waits. */
export class FairShares {
  private readonly byHolder = new Map<string, number>();
  // A plain map, emptied as each request's last connection comes back: a WeakMap entry per request
  // made every young-generation collection trace the ephemerons of all requests not yet collected.
  private readonly byRequest = new Map<RequestBudget, number>();
  private waiters = new Set<() => void>();
  private readonly limits: FairUseLimits;
  private readonly name: string;

  constructor(name: string, limits: FairUseLimits) {
    this.name = name;
    this.limits = limits;
  }

  private held(): number {
    let total = 0;
    for (const n of this.byHolder.values()) total += n;
    return total;
  }

  private fits(budget: RequestBudget): boolean {
    return (this.byRequest.get(budget) ?? 0) < this.limits.perRequest && (this.byHolder.get(budget.holder) ?? 0) < this.limits.perUser;
  }

  /** Counts one more connection for the request and its holder. */
  private take(budget: RequestBudget): void {
    this.byRequest.set(budget, (this.byRequest.get(budget) ?? 0) + 1);
    this.byHolder.set(budget.holder, (this.byHolder.get(budget.holder) ?? 0) + 1);
  }

  /** Waits for room under both limits; returns the release function. */
  async acquire(budget: RequestBudget): Promise<() => void> {
    if (budget.signal.aborted) throw new RequestAbortedError(`${this.name}: the request was abandoned or ran out of time`);
    if (this.fits(budget)) this.take(budget);
    else await this.waitForRoom(budget);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const ofRequest = this.byRequest.get(budget)! - 1;
      if (ofRequest === 0) this.byRequest.delete(budget);
      else this.byRequest.set(budget, ofRequest);
      const held = this.byHolder.get(budget.holder)! - 1;
      if (held === 0) this.byHolder.delete(budget.holder);
      else this.byHolder.set(budget.holder, held);
      const waiting = this.waiters;
      this.waiters = new Set();
      for (const wake of waiting) wake();
    };
  }

  /**
   * Resolves once the request has taken room. The room is taken in the same
   * synchronous step that finds it: a release wakes every waiter at once, and
   * a waiter that only resumed later would find the room it saw already taken
   * by the others woken with it.
   */
  private waitForRoom(budget: RequestBudget): Promise<void> {
    const waitMs = Math.max(0, Math.min(this.limits.waitMs, budget.deadline - Date.now()));
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        budget.signal.removeEventListener("abort", onAbort);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (!this.fits(budget)) {
          this.waiters.add(check);
          return;
        }
        this.take(budget);
        done();
      };
      const onAbort = () => done(new RequestAbortedError(`${this.name}: the request was abandoned or ran out of time`));
      const timer = setTimeout(
        () =>
          done(
            (this.byRequest.get(budget) ?? 0) >= this.limits.perRequest
              ? new RequestAbortedError(`${this.name}: the request ran out of time waiting for its own connections`)
              : this.held() >= this.limits.poolMax
                ? // Every connection is busy: the pool is exhausted, whoever holds it (503, not the user's fault alone).
                  poolExhausted(this.name, this.limits.poolMax, this.limits.waitMs)
                : new ConnectionShareExceededError(
                    `${this.name}: too many connections at once for one user (${this.limits.perUser}, DB_MAX_USER_POOL_SHARE); try again shortly`,
                  ),
          ),
        waitMs,
      );
      budget.signal.addEventListener("abort", onAbort, { once: true });
      check();
    });
  }
}

/**
 * Cancels what `client` runs for as long as it stays checked out, once
 * `signal` aborts: the running statement now, and any the caller still starts
 * (PostGraphile may send the next one before it learns), every 100 ms.
 * Returns the function that stops watching (called at release).
 */
export function cancelOnAbort(client: pg.PoolClient, url: string, signal: AbortSignal): () => void {
  let timer: NodeJS.Timeout | undefined;
  const cancel = () => {
    // The protocol's CancelRequest (backend pid and secret key) on a short connection of its
    // own: it needs no pool slot and no password, and cancels whatever that backend runs now,
    // which, while the connection is checked out here, is this request's statement.
    const canceller = new pg.Client({ connectionString: url }) as unknown as {
      host: string;
      port: number;
      connection: NodeJS.EventEmitter & { connect(portOrSocket: number | string, host?: string): void; cancel(pid: number, key: number): void };
    };
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    const connection = canceller.connection;
    connection.on("error", () => undefined); // the server closes it at once; nothing said on it matters
    connection.on("connect", () => connection.cancel(processID, secretKey));
    if (canceller.host.startsWith("/")) connection.connect(`${canceller.host}/.s.PGSQL.${canceller.port}`);
    else connection.connect(canceller.port, canceller.host);
  };
  const onAbort = () => {
    cancel();
    timer = setInterval(cancel, 100);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return () => {
    signal.removeEventListener("abort", onAbort);
    clearInterval(timer);
  };
}
