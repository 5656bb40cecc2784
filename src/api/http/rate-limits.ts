/**
 * Requests per client, counted with rate-limiter-flexible's in-memory
 * limiter over a fixed window: per client address (RATE_LIMIT_PER_ADDRESS),
 * per signed-in user (RATE_LIMIT_PER_USER), and far fewer new accounts per
 * address (RATE_LIMIT_REGISTRATIONS_PER_ADDRESS per hour), and exports per user
 * (RATE_LIMIT_EXPORTS_PER_USER per hour: each one reads everything the user owns). Over a limit the
 * request is answered with 429 and Retry-After (the auth gate).
 *
 * The counts live in each API process: with N processes behind a balancer a
 * client may make up to N times each limit. The address is the TCP peer's: behind
 * a proxy put the limits at the proxy, or every client shares the proxy's.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitSettings } from "../../config.ts";

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

/** `onRefused`: told the setting of every refusal (the metrics count them as limits hit). */
export function createRateLimits(settings: RateLimitSettings, onRefused: (setting: string) => void = () => undefined): RateLimits {
  const perAddress = new RateLimiterMemory({ keyPrefix: "address", points: settings.perAddress, duration: settings.windowSeconds });
  const perUser = new RateLimiterMemory({ keyPrefix: "user", points: settings.perUser, duration: settings.windowSeconds });
  const registrations = new RateLimiterMemory({ keyPrefix: "registration", points: settings.registrationsPerAddress, duration: 3600 });
  const exports = new RateLimiterMemory({ keyPrefix: "export", points: settings.exportsPerUser, duration: 3600 });

  async function count(limiter: RateLimiterMemory, key: string, setting: string, what: string, limit: number, per: string): Promise<void> {
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
