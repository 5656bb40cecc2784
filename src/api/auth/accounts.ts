/**
 * Maps a verified Clerk identity to the platform user id that row-level
 * security keys on. The first request of a new Clerk user registers them
 * (platform.register_user, as the platform admin) and creates their empty
 * profile (as the user); both statements are idempotent, so concurrent first
 * requests, even on different servers, create exactly one of each. Known ids
 * are cached so the hot path touches no database.
 */
import type pg from "pg";
import type { Topology } from "../../topology.ts";
import type { Identity } from "./tokens.ts";

export type AccountResolver = (identity: Identity) => Promise<string>;

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 50_000;

async function inTransaction<T>(pool: pg.Pool, settings: Record<string, string>, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config(key, value, true) from json_each_text($1::json)", [JSON.stringify(settings)]);
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function createAccountResolver(pools: { platform: pg.Pool; userData: pg.Pool }, topology: Topology): AccountResolver {
  const cache = new Map<string, { userId: string; expires: number }>();
  const inFlight = new Map<string, Promise<string>>();

  async function register(identity: Identity): Promise<string> {
    const userId = await inTransaction(pools.platform, { role: topology.role("platformAdmin").name }, async (client) => {
      const { rows } = await client.query<{ id: string }>("select id from platform.register_user($1, $2, $3)", [
        identity.clerkId,
        identity.email ?? null,
        identity.name ?? null,
      ]);
      return rows[0]!.id;
    });
    await inTransaction(
      pools.userData,
      { role: topology.role("authenticated").name, "app.current_user_id": userId },
      (client) => client.query("insert into user_data.user_profiles default values on conflict (user_id) do nothing"),
    );
    return userId;
  }

  return async (identity) => {
    const cached = cache.get(identity.clerkId);
    if (cached && cached.expires > Date.now()) return cached.userId;
    let pending = inFlight.get(identity.clerkId);
    if (!pending) {
      pending = register(identity).finally(() => inFlight.delete(identity.clerkId));
      inFlight.set(identity.clerkId, pending);
    }
    const userId = await pending;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(identity.clerkId, { userId, expires: Date.now() + CACHE_TTL_MS });
    return userId;
  };
}
