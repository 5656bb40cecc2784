/**
 * Turns the configuration into a running deployment: the two databases'
 * connection URLs, for the API (the authenticator login) and for migrations
 * (the owner login). Depending on the configuration it starts the embedded
 * server and provisions it, provisions a server reached with an admin URL, or
 * uses the URLs it was given as they are.
 *
 * Only what makes a server ready provisions (`npm start`, `alwrity db init`,
 * the db:* migration commands). Read-only commands open the deployment with
 * `{ provision: false }`: nothing is created and no password changes, so a
 * health check never cuts off a running API.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config.ts";
import { describe } from "../db/pools.ts";
import { attachToRunningServer, startEmbeddedServer, type EmbeddedServer } from "./embedded-server.ts";
import { generateCredentials, loadOrCreateCredentials, type Credentials } from "./credentials.ts";
import { ProvisioningBusyError, provision } from "./provision.ts";
import type { DatabaseEndpoints, Endpoints } from "../db/endpoints.ts";
import { resolveTopology, type DatabaseKey, type Topology } from "../topology.ts";

export type { DatabaseEndpoints } from "../db/endpoints.ts";

export interface Deployment extends Endpoints {
  /** A superuser or admin login to the server, when the project provisions it. */
  readonly adminUrl: string | undefined;
  readonly embedded: EmbeddedServer | undefined;
  /**
   * Both URLs name one database (the one-database setup, e.g. one Supabase project): the two
   * databases' schemas live side by side in it, and graphile-migrate keeps each one's migration
   * state apart (src/bootstrap/migration-sets.ts).
   */
  readonly sharedDatabase: boolean;
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

/** The same server and login, another database. */
export function onDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}

/** Whether two URLs reach the same database of the same server (logins aside). */
export function sameDatabase(a: string, b: string): boolean {
  const where = (url: string) => {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port || "5432"}/${databaseOf(url)}`;
  };
  return where(a) === where(b);
}

export interface OpenOptions {
  /**
   * false: use the server as it is. With an admin URL the databases are
   * reached through the admin login (the login roles' passwords are not
   * known, and are not changed); the embedded server must have been set up
   * before (npm start or alwrity db init).
   */
  readonly provision: boolean;
}

export async function openDeployment(config: Config, options: OpenOptions = { provision: true }): Promise<Deployment> {
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
    if (!options.provision && (source.dataDir === null || !existsSync(path.join(source.dataDir, "PG_VERSION")))) {
      throw new Error("the embedded database is not set up yet: run `alwrity db init` or `npm start` first");
    }
    credentials = loadOrCreateCredentials(source.dataDir === null ? null : `${source.dataDir}.credentials.json`);
    const dataDir = source.dataDir === null ? null : path.resolve(source.dataDir);
    // Beside a running `npm start` (or db:watch) the CLI reaches that server instead of starting a second one.
    embedded =
      (dataDir === null ? undefined : attachToRunningServer(dataDir, credentials.superuser)) ??
      (await startEmbeddedServer({ dataDir, port: source.port, superuserPassword: credentials.superuser }));
    adminUrl = embedded.adminUrl;
  } else if (!options.provision) {
    // The login roles' passwords are not known here; the admin login reads everything a read-only command needs.
    const admin = new URL(source.adminUrl);
    const [user, password] = [decodeURIComponent(admin.username), decodeURIComponent(admin.password)];
    const endpoint = (key: DatabaseKey): DatabaseEndpoints => {
      const name = topology.database(key).name;
      const url = withLogin(source.adminUrl, user, password, name);
      return { key, name, apiUrl: url, migrationUrl: url };
    };
    return assemble(topology, endpoint("platform"), endpoint("userData"), source.adminUrl, undefined);
  } else {
    // A server reached with an admin login: the login roles get fresh passwords on every provisioning.
    credentials = generateCredentials();
    adminUrl = source.adminUrl;
  }

  if (options.provision) {
    try {
      await provision(adminUrl, topology, credentials);
    } catch (error) {
      await embedded?.stop();
      throw source.kind === "admin" ? adminServerError(error, adminUrl) : error;
    }
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
    sharedDatabase: sameDatabase(platform.apiUrl, userData.apiUrl),
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
