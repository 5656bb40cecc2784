/**
 * Maps a verified Clerk identity to the platform user id that row-level
 * security keys on. The first request of a new Clerk user registers them (as
 * the platform admin) and creates their empty profile (as the user); both
 * statements are idempotent upserts, so concurrent first requests, even on
 * different servers, create exactly one of each. Known ids are cached so the
 * hot path touches no database.
 *
 * An account whose erasure was requested is refused (401, reason
 * account-deleted): register_user refuses it (SQLSTATE 28000), and every API
 * process drops it from its cache when the request commits, told by the
 * database (LISTEN alwrity_account_revoked). While that listener is not
 * connected the cache is not used at all, so a missed notification can never
 * keep a revoked account signed in.
 */
import type { PoolerMode } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Listener } from "../../db/listener.ts";
import { jsonLinesLogger, type Logger } from "../../log.ts";
import { findOrCreateUser } from "../../services/accounts.ts";
import { ensureProfile } from "../../services/profile.ts";
import type { RateLimits } from "../http/rate-limits.ts";
import { AuthError, type Identity } from "./tokens.ts";

/** The platform user id of a verified identity; `address` is the client's, for the registration limit. */
export type AccountResolver = ((identity: Identity, address: string) => Promise<string>) & {
  /** Forgets a user id at once (their erasure was requested). */
  revoke(userId: string): void;
  /** Whether cached ids may be used: the revocation listener is connected. */
  caching(): boolean;
  /** Told by the revocation listener as it connects and disconnects. */
  setListening(on: boolean): void;
};

export const REVOCATION_CHANNEL = "alwrity_account_revoked";
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 50_000;

export function createAccountResolver(
  databases: Pick<Databases, "platform" | "userData">,
  limits: Pick<RateLimits, "registration"> | undefined,
  log: Logger = jsonLinesLogger(),
): AccountResolver {
  const cache = new Map<string, { userId: string; expires: number }>();
  const inFlight = new Map<string, Promise<string>>();
  let listening = false;

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
      if ((error as { code?: string }).code === "28000") throw new AuthError("account-deleted", "this account has been deleted");
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

  const resolve = async (identity: Identity, address: string) => {
    const cached = listening ? cache.get(identity.clerkId) : undefined;
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
  return Object.assign(resolve, {
    revoke(userId: string) {
      for (const [clerkId, entry] of cache) if (entry.userId === userId) cache.delete(clerkId);
    },
    caching: () => listening,
    setListening(on: boolean) {
      listening = on;
      if (!on) cache.clear(); // whatever was missed meanwhile cannot matter
    },
  });
}

/**
 * Connects a resolver to the revocation channel: a revoked account leaves its
 * cache when the erasure request commits, wherever it was made, and the cache
 * is used only while the listener is connected. Through a pooler in
 * transaction mode LISTEN hears nothing, so the listener takes a direct
 * connection of its own (DATABASE_LISTEN_URL); without one there is no
 * listener and accounts are never cached (every request resolves its account
 * in the database).
 */
export function listenForRevocations(
  databases: Pick<Databases, "listen">,
  settings: { poolerMode: PoolerMode; listenUrl: string | undefined },
  resolver: AccountResolver,
): Listener {
  if (settings.poolerMode !== "session" && !settings.listenUrl) return { close: async () => undefined };
  const handlers = { onNotify: (userId: string) => resolver.revoke(userId), onListening: (on: boolean) => resolver.setListening(on) };
  return databases.listen("platform", REVOCATION_CHANNEL, handlers, settings.listenUrl);
}
