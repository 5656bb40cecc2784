/**
 * The environment: one server's roles and two databases, as the topology spec
 * (src/topology.ts) describes them under this stack's prefix, and the
 * connection URLs the app and its migrations read. Runs when imported, as a
 * Pulumi program does; index.ts re-exports the stack outputs.
 */
import { resolveTopology, type DatabaseKey } from "../src/topology.ts";
import { connectionUrl } from "./connection-urls.ts";
import { restrictDatabaseAccess } from "./database-access.ts";
import { declareDatabases } from "./databases.ts";
import { adminProvider } from "./provider.ts";
import { declareRoles } from "./roles.ts";
import { serialGrants } from "./serial-grants.ts";
import { readSettings } from "./settings.ts";

export const settings = readSettings();
export const topology = resolveTopology(settings.envPrefix);
export const provider = adminProvider(settings);
export const roles = declareRoles(topology, provider, settings.protect);
export const databases = declareDatabases(topology, roles, provider, settings.protect);
// Grants start once the extensions exist, so no grant races an extension's own catalog changes.
export const grants = restrictDatabaseAccess(
  topology,
  roles,
  databases,
  serialGrants(provider, [...databases.values()].flatMap((d) => d.extensions)),
);

const app = { host: settings.appHost, port: settings.appPort, sslmode: settings.appSslmode };
/** A database's URL as the API connects (the authenticator) or as migrations do (its owner). */
const url = (key: DatabaseKey, as: "api" | "migrations") => {
  const declared = databases.get(key)!;
  const login = roles.get(as === "api" ? "authenticator" : declared.spec.owner)!;
  return connectionUrl(app, login.role.name, login.password!.result, declared.database.name);
};

export const PLATFORM_DATABASE_URL = url("platform", "api");
export const USER_DATA_DATABASE_URL = url("userData", "api");
export const PLATFORM_MIGRATION_DATABASE_URL = url("platform", "migrations");
export const USER_DATA_MIGRATION_DATABASE_URL = url("userData", "migrations");
/** The app and migrations need the prefix too: they derive role names from it. */
export const DATABASE_ENV_PREFIX = topology.prefix;
/** How the app must use its connections: `transaction` when appHost/appPort is a transaction pooler. */
export const DATABASE_POOLER_MODE = settings.appPoolerMode;
/**
 * The API's Clerk webhook signing secret, passed through from the stack's configuration as a secret
 * output: the program deploys no API, so its environment is these outputs. Undefined (no output)
 * when the stack sets none; the API then serves no /webhooks/clerk.
 */
export const CLERK_WEBHOOK_SECRET = settings.clerkWebhookSecret;
