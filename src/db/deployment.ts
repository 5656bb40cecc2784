/**
 * Turns the configuration into a running deployment: the two databases'
 * connection URLs, for the API (the authenticator login) and for migrations
 * (the owner login). Depending on the configuration it starts the embedded
 * server and provisions it, provisions a server reached with an admin URL, or
 * uses the URLs it was given as they are.
 */
import path from "node:path";
import type { Config } from "../config.ts";
import { startEmbeddedServer, type EmbeddedServer } from "../embedded/embedded-server.ts";
import { describe } from "./pools.ts";
import { generateCredentials, loadOrCreateCredentials, type Credentials } from "../provision/credentials.ts";
import { ProvisioningBusyError, provision } from "../provision/provision.ts";
import { resolveTopology, type DatabaseKey, type Topology } from "../topology.ts";

export interface DatabaseEndpoints {
  readonly key: DatabaseKey;
  readonly name: string;
  /** The authenticator login: what the API and services connect as. */
  readonly apiUrl: string;
  /** The owner login: what migrations run as (absent when not configured). */
  readonly migrationUrl: string | undefined;
}

export interface Deployment {
  readonly topology: Topology;
  readonly platform: DatabaseEndpoints;
  readonly userData: DatabaseEndpoints;
  /** A superuser or admin login to the server, when the project provisions it. */
  readonly adminUrl: string | undefined;
  readonly embedded: EmbeddedServer | undefined;
  endpoints(key: DatabaseKey): DatabaseEndpoints;
  /** Stops the embedded server, if this deployment started one. */
  close(): Promise<void>;
}

/** Replaces the login and database of a server URL. */
export function withLogin(serverUrl: string, user: string, password: string, database: string): string {
  const url = new URL(serverUrl);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}

export async function openDeployment(config: Config): Promise<Deployment> {
  const topology = resolveTopology(config.envPrefix);
  const source = config.source;

  if (source.kind === "urls") {
    const endpoint = (key: DatabaseKey, apiUrl: string, migrationUrl: string | undefined): DatabaseEndpoints => ({
      key,
      name: databaseOf(apiUrl),
      apiUrl,
      migrationUrl,
    });
    return assemble(
      topology,
      endpoint("platform", source.platformUrl, source.platformMigrationUrl),
      endpoint("userData", source.userDataUrl, source.userDataMigrationUrl),
      undefined,
      undefined,
    );
  }

  let embedded: EmbeddedServer | undefined;
  let adminUrl: string;
  let credentials: Credentials;
  if (source.kind === "embedded") {
    credentials = loadOrCreateCredentials(source.dataDir === null ? null : `${source.dataDir}.credentials.json`);
    embedded = await startEmbeddedServer({
      dataDir: source.dataDir === null ? null : path.resolve(source.dataDir),
      port: source.port,
      superuserPassword: credentials.superuser,
    });
    adminUrl = embedded.adminUrl;
  } else {
    // A server reached with an admin login: the login roles get fresh passwords on every provisioning.
    credentials = generateCredentials();
    adminUrl = source.adminUrl;
  }

  try {
    await provision(adminUrl, topology, credentials);
  } catch (error) {
    await embedded?.stop();
    throw source.kind === "admin" ? adminServerError(error, adminUrl) : error;
  }
  const owner = topology.role("owner").name;
  const authenticator = topology.role("authenticator").name;
  const endpoint = (key: DatabaseKey): DatabaseEndpoints => {
    const name = topology.database(key).name;
    return {
      key,
      name,
      apiUrl: withLogin(adminUrl, authenticator, credentials.authenticator, name),
      migrationUrl: withLogin(adminUrl, owner, credentials.owner, name),
    };
  };
  return assemble(topology, endpoint("platform"), endpoint("userData"), adminUrl, embedded);
}

function assemble(
  topology: Topology,
  platform: DatabaseEndpoints,
  userData: DatabaseEndpoints,
  adminUrl: string | undefined,
  embedded: EmbeddedServer | undefined,
): Deployment {
  return {
    topology,
    platform,
    userData,
    adminUrl,
    embedded,
    endpoints: (key) => (key === "platform" ? platform : userData),
    close: async () => {
      await embedded?.stop();
    },
  };
}

/** Errors reaching the admin server say which setting points there (never its password). */
function adminServerError(error: unknown, adminUrl: string): unknown {
  if (!(error instanceof Error) || error instanceof ProvisioningBusyError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const unreachable = error instanceof AggregateError || /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|28P01|28000|3D000)$/.test(code);
  if (!unreachable) return error;
  const u = new URL(adminUrl);
  return new Error(`cannot provision through DATABASE_ADMIN_URL (${u.hostname}:${u.port || 5432}, user ${decodeURIComponent(u.username) || "(none)"}): ${describe(error)}`);
}
