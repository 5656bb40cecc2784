/**
 * What signing in needs, made once per API process: the token verifier, the
 * rate limits (in memory or shared in the platform database), the account
 * resolver with its cache, the listener that empties that cache when an account
 * is revoked in any process, and the one sign-in every route uses.
 */
import type { Config } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Listener } from "../../db/listener.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { createAccountResolver, listenForRevocations, type AccountResolver } from "./accounts.ts";
import { loadOrCreateDevKeys } from "./dev-keys.ts";
import { createSignIn, type SignIn } from "./gate.ts";
import { createTokenVerifier } from "./tokens.ts";
import { clientAddressOf } from "../http/client-address.ts";
import { createRateLimits, type RateLimits } from "../http/rate-limits.ts";

export interface SignInServices {
  readonly signIn: SignIn;
  readonly rateLimits: RateLimits;
  readonly resolveAccount: AccountResolver;
  /** Stops hearing revocations; the process calls it when it stops. */
  readonly revocations: Listener;
}

export function createSignInServices(config: Config, databases: Databases, metrics: Metrics, log: Logger): SignInServices {
  // Development signs its own tokens (npm run token); every other environment verifies Clerk's.
  const verify = createTokenVerifier(config.clerk, config.environment === "development" ? loadOrCreateDevKeys().publicKey : undefined);
  const rateLimits = createRateLimits(config.api.rateLimits, (setting) => metrics.limitsHit.inc({ limit: setting }), {
    databases,
    log,
    onStoreFailure: () => metrics.rateLimitStoreFailures.inc(),
  });
  const resolveAccount = createAccountResolver(databases, rateLimits);
  const revocations = listenForRevocations(databases, config, resolveAccount);
  const signIn = createSignIn({ verify, resolveAccount, rateLimits, addressOf: clientAddressOf(config.api.trustedProxies) });
  return { signIn, rateLimits, resolveAccount, revocations };
}
