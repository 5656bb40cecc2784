/**
 * Maps a verified Clerk identity to the platform user id that row-level
 * security keys on. The first request of a new Clerk user registers them (as
 * the platform admin) and creates their empty profile (as the user); both
 * statements are idempotent upserts, so concurrent first requests, even on
 * different servers, create exactly one of each. Known ids are cached so the
 * hot path touches no database.
 */
import type { Databases } from "../../db/databases.ts";
import { jsonLinesLogger, type Logger } from "../../log.ts";
import { findOrCreateUser } from "../../services/accounts.ts";
import { ensureProfile } from "../../services/profile.ts";
import type { RateLimits } from "../rate-limits.ts";
import type { Identity } from "./tokens.ts";

/** The platform user id of a verified identity; `address` is the client's, for the registration limit. */
export type AccountResolver = (identity: Identity, address: string) => Promise<string>;

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 50_000;

export function createAccountResolver(
  databases: Pick<Databases, "platform" | "userData">,
  limits: Pick<RateLimits, "registration"> | undefined,
  log: Logger = jsonLinesLogger(),
): AccountResolver {
  const cache = new Map<string, { userId: string; expires: number }>();
  const inFlight = new Map<string, Promise<string>>();

  async function register(identity: Identity, address: string): Promise<string> {
    // Counted against the address's registrations until it turns out the account existed.
    const refund = await limits?.registration(address);
    let user;
    try {
      user = await databases.platform.withPlatformAdmin((admin) =>
        findOrCreateUser(admin, { clerkId: identity.clerkId, email: identity.email ?? null, displayName: identity.name ?? null }),
      );
    } catch (error) {
      await refund?.(); // nothing was created (a database away, say)
      throw error;
    }
    if (!user.created) await refund?.();
    await databases.userData.withUserContext(user.id, ensureProfile);
    // register_user stores what is valid and nulls the rest (a malformed or taken email, an
    // over-long name): the user gets in either way, and the dropped claims are logged here.
    const dropped = [
      identity.email !== undefined && user.email === null && "email",
      identity.name !== undefined && user.display_name === null && "name",
    ].filter(Boolean);
    if (dropped.length) log("claims_dropped", { clerkId: identity.clerkId, userId: user.id, claims: dropped });
    return user.id;
  }

  return async (identity, address) => {
    const cached = cache.get(identity.clerkId);
    if (cached && cached.expires > Date.now()) return cached.userId;
    let pending = inFlight.get(identity.clerkId);
    if (!pending) {
      pending = register(identity, address).finally(() => inFlight.delete(identity.clerkId));
      inFlight.set(identity.clerkId, pending);
    }
    const userId = await pending;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(identity.clerkId, { userId, expires: Date.now() + CACHE_TTL_MS });
    return userId;
  };
}
