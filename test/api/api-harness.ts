/**
 * Starts the real API server against the test deployment's databases, with a
 * Clerk key pair made for the run, and offers a small GraphQL client.
 */
import { loadConfig, type Config } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { startApiServer, type ApiServer } from "../../src/api/http/server.ts";
import { generateClerkKeyPair, signToken, type TokenClaims } from "../../src/api/auth/dev-keys.ts";
import { deploymentEnv } from "../support/databases.ts";

export const AUTHORIZED_PARTY = "http://localhost:3000";
/** The iss of the run's Clerk tokens (production requires CLERK_ISSUER). */
export const TEST_ISSUER = "https://clerk.test.alwrity.local";

export interface TestApi {
  server: ApiServer;
  config: Config;
  /** A token signed with the test Clerk key (valid unless claims say otherwise). */
  token(claims: TokenClaims): string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data: T | undefined;
  errors: Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;
}

export const makeClerkKeys = generateClerkKeyPair;

/** Configuration that points the API at the test deployment's databases. */
export function testApiConfig(env: Record<string, string>): Config {
  return loadConfig({ ...deploymentEnv(), ...env });
}

/** `wrap`: what the API is handed instead of the databases themselves (to take a part away, say). */
export async function startTestApi(env: Record<string, string> = {}, wrap: (databases: Databases) => Databases = (d) => d): Promise<TestApi> {
  const keys = makeClerkKeys();
  const config = testApiConfig({ CLERK_JWT_KEY: keys.publicKey, CLERK_AUTHORIZED_PARTIES: AUTHORIZED_PARTY, CLERK_ISSUER: TEST_ISSUER, ...env });
  const deployment = await openDeployment(config);
  const databases = createDatabases(deployment, config);
  const server = await startApiServer(config, wrap(databases), deployment.topology);
  return {
    server,
    config,
    token: (claims) => signToken(keys.privateKey, { azp: AUTHORIZED_PARTY, iss: TEST_ISSUER, ...claims }),
    async gql(query, variables, token) {
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: any };
      return { status: response.status, data: body.data ?? undefined, errors: body.errors };
    },
    async stop() {
      await server.stop();
      await databases.close();
    },
  };
}
