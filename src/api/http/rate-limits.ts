/**
 * Requests per client, counted with rate-limiter-flexible over a fixed window:
 * per client address (RATE_LIMIT_PER_ADDRESS), per signed-in user
 * (RATE_LIMIT_PER_USER), and far fewer new accounts per address
 * (RATE_LIMIT_REGISTRATIONS_PER_ADDRESS per hour), and exports per user
 * (RATE_LIMIT_EXPORTS_PER_USER per hour: each one reads everything the user owns). Over a limit the
 * request is answered with 429 and Retry-After (the auth gate).
 *
 * Where the counts live (RATE_LIMIT_STORE): `postgres` keeps them in
 * platform_backend.rate_limits (RateLimiterPostgres, told the table exists:
 * it is a migration's), so every API process counts against the same limit;
 * each count is one transaction as the platform admin through the project's
 * pools, never a login of its own. `memory` keeps them in the process: N
 * processes allow N times each limit. The address is the client's as
 * client-address.ts finds it (TRUSTED_PROXIES).
 *
 * When the shared store cannot take a count (the database away, the pool
 * exhausted) the request is counted by the process alone (the library's
 * insurance limiter, the same limits in memory) rather than refused: the
 * database being away is answered with 503 by whatever the request goes on to
 * do, and a limiter that refused everything then would also refuse the
 * requests that need no database (health, plans from a cache). The metric
 * alwrity_rate_limit_store_failures_total counts each such count and a log
 * line says when the store failed and when it came back.
 */
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RateLimitSettings } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";

/** The shared store's table (migration platform/000013). */
export const RATE_LIMIT_TABLE = { schemaName: "platform_backend", tableName: "rate_limits" } as const;

/** A limit was reached: answered with 429, Retry-After and the setting's name. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  readonly retryAfterSeconds: number;
  readonly setting: string;
  constructor(setting: string, retryAfterSeconds: number, message: string) {
    super(message);
    this.setting = setting;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface RateLimits {
  /** Counts a request from `address`. */
  address(address: string): Promise<void>;
  /** Counts a request of the signed-in user `userId`. */
  user(userId: string): Promise<void>;
  /** Counts a sign-in that may create an account; call the returned function when it created none. */
  registration(address: string): Promise<() => Promise<void>>;
  /** Counts an export (GET /export) of the signed-in user `userId`. */
  exports(userId: string): Promise<void>;
}

/** What the `postgres` store needs: the databases, and where its failures are told. */
export interface SharedStore {
  databases: Pick<Databases, "platform">;
  log: Logger;
  /** Told of every count the store could not take (the metric). */
  onStoreFailure(): void;
}

/** Makes one limiter of the configured store; `memory` needs no `shared`. */
export type LimiterFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

export function limiterFactory(store: RateLimitSettings["store"], shared: SharedStore | undefined): LimiterFactory {
  if (store === "memory") return (options) => new RateLimiterMemory(options);
  if (!shared) throw new Error("RATE_LIMIT_STORE=postgres needs the platform database");
  const { databases, log, onStoreFailure } = shared;
  let failing = false;
  // RateLimiterPostgres calls query({ name, text, values }); the name would make a named prepared
  // statement, which a pooler in transaction mode cannot keep, so it is dropped: each statement runs
  // in a transaction of its own as the platform admin (role-transaction.ts).
  const storeClient = {
    async query(q: { text: string; values?: unknown[] }) {
      try {
        const result = await databases.platform.withPlatformAdmin((session) => session.query(q.text, q.values));
        if (failing) log("rate_limit_store_back", {});
        failing = false;
        return result;
      } catch (error) {
        onStoreFailure();
        if (!failing) log("rate_limit_store_unavailable", { message: (error as Error).message, counting: "per process until it is back" });
        failing = true;
        throw error;
      }
    },
  };
  return (options) =>
    new RateLimiterPostgres({
      ...options,
      storeClient,
      storeType: "client",
      ...RATE_LIMIT_TABLE,
      tableCreated: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
}

/** `onRefused`: told the setting of every refusal (the metrics count them as limits hit). */
export function createRateLimits(settings: RateLimitSettings, onRefused: (setting: string) => void = () => undefined, shared?: SharedStore): RateLimits {
  const limiter = limiterFactory(settings.store, shared);
  const perAddress = limiter({ keyPrefix: "address", points: settings.perAddress, duration: settings.windowSeconds });
  const perUser = limiter({ keyPrefix: "user", points: settings.perUser, duration: settings.windowSeconds });
  const registrations = limiter({ keyPrefix: "registration", points: settings.registrationsPerAddress, duration: 3600 });
  const exports = limiter({ keyPrefix: "export", points: settings.exportsPerUser, duration: 3600 });

  async function count(limiter: RateLimiterAbstract, key: string, setting: string, what: string, limit: number, per: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (refused) {
      if (!(refused instanceof RateLimiterRes)) throw refused;
      const retryAfterSeconds = Math.max(1, Math.ceil(refused.msBeforeNext / 1000));
      onRefused(setting);
      throw new RateLimitedError(setting, retryAfterSeconds, `too many ${what}: the limit is ${limit} per ${per} (${setting}); try again in ${retryAfterSeconds} s`);
    }
  }

  return {
    address: (address) => count(perAddress, address, "RATE_LIMIT_PER_ADDRESS", "requests from this address", settings.perAddress, `${settings.windowSeconds} s`),
    user: (userId) => count(perUser, userId, "RATE_LIMIT_PER_USER", "requests from this user", settings.perUser, `${settings.windowSeconds} s`),
    async registration(address) {
      await count(registrations, address, "RATE_LIMIT_REGISTRATIONS_PER_ADDRESS", "new accounts from this address", settings.registrationsPerAddress, "hour");
      return async () => {
        await registrations.reward(address);
      };
    },
    exports: (userId) => count(exports, userId, "RATE_LIMIT_EXPORTS_PER_USER", "exports by this user", settings.exportsPerUser, "hour"),
  };
}
