/**
 * The real GraphQL API (startApiServer) as the benchmark runs it: production
 * settings (Grafast in production mode, Clerk keys instead of development
 * sign-in, masked errors) against a benchmark server's databases.
 */
import { startApiServer } from "../src/api/http/server.ts";
import { createDatabases } from "../src/db/databases.ts";
import { loadConfig, type Config } from "../src/config.ts";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import type { HttpRequestSpec } from "./load/http-load.ts";
import { BENCH_API_ENV, type ClerkKeys } from "./workload.ts";

export interface PoolSize {
  size: number;
  maxOverflow: number;
}

/** Production settings (environment variables) pointing at the deployment's databases; pool defaults as in production. */
export function productionEnv(deployment: Pick<Deployment, "platform" | "userData" | "topology">, keys: ClerkKeys, pool?: PoolSize): Record<string, string> {
  return {
    ENVIRONMENT: "production",
    PLATFORM_DATABASE_URL: deployment.platform.apiUrl,
    USER_DATA_DATABASE_URL: deployment.userData.apiUrl,
    DATABASE_ENV_PREFIX: deployment.topology.prefix,
    CLERK_JWT_KEY: keys.publicKey,
    ...BENCH_API_ENV,
    API_HOST: "127.0.0.1",
    PORT: "0",
    ...(pool ? { DB_POOL_SIZE: String(pool.size), DB_MAX_OVERFLOW: String(pool.maxOverflow) } : {}),
  };
}

/** The same as a loaded configuration. */
export function productionConfig(deployment: Deployment, keys: ClerkKeys, pool?: PoolSize): Config {
  return loadConfig(productionEnv(deployment, keys, pool));
}

export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:40123. */
  url: string;
  stop(): Promise<void>;
}

export async function startApiUnderTest(config: Config, deployment: Deployment): Promise<RunningServer> {
  if (process.env.GRAPHILE_ENV !== "production") throw new Error("GRAPHILE_ENV must be production before Grafast is loaded");
  const databases = createDatabases(deployment, config);
  const api = await startApiServer(config, databases, deployment.topology);
  return {
    url: new URL(api.url).origin,
    stop: async () => {
      await api.stop();
      await databases.close();
    },
  };
}

/**
 * Sends every request once before any load: the first request of each user
 * registers them in the server's account cache (as in production, once per
 * user and server), and a wrong request fails here, loudly, instead of
 * turning into fast error responses that look like throughput.
 */
export async function primeAndCheck(origin: string, requests: HttpRequestSpec[], parallel = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      const response = await fetch(origin + r.path, { method: r.method, headers: r.headers, body: r.body });
      const text = await response.text();
      if (response.status !== 200 || text.includes('"errors"')) {
        throw new Error(`${origin}${r.path} answered ${response.status}: ${text.slice(0, 500)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
