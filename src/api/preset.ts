/**
 * The PostGraphile v5 preset: one pgService per database, clean names, and
 * exposure decided by grants (introspected as authenticated_users, so what a
 * signed-in user may do is exactly what the schema shows) and smart tags in the
 * migrations. The server (server.ts) and the schema export (cli/export-schema.ts)
 * both start from this preset.
 */
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import type {} from "postgraphile";
import type { WithPgClient } from "postgraphile/@dataplan/pg";
import { makePgService, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import type { Environment } from "../config.ts";
import type { Databases } from "../db/databases.ts";
import type { DatabaseKey, Topology } from "../topology.ts";
import { makeErrorMask } from "./errors.ts";
import { NoServicePrefixPlugin } from "./naming.ts";
import { UserScopedKeysPlugin } from "./user-scoped-keys.ts";

type PgSettings = Record<string, string | undefined> | null;
declare global {
  namespace Grafast {
    interface Context {
      platformPgSettings: PgSettings;
      platformWithPgClient: WithPgClient<NodePostgresPgClient>;
      userDataPgSettings: PgSettings;
      userDataWithPgClient: WithPgClient<NodePostgresPgClient>;
    }
  }
}

/** The GraphQL context keys of each database's service. */
export const SERVICE_KEYS = {
  platform: { name: "platform", pgSettingsKey: "platformPgSettings", withPgClientKey: "platformWithPgClient", schema: "platform" },
  userData: { name: "userData", pgSettingsKey: "userDataPgSettings", withPgClientKey: "userDataWithPgClient", schema: "user_data" },
} as const satisfies Record<DatabaseKey, { name: string; pgSettingsKey: keyof Grafast.Context; withPgClientKey: keyof Grafast.Context; schema: string }>;

export interface SchemaPresetOptions {
  environment: Environment;
  topology: Topology;
  /** Each database's pool comes from the database service API (src/db/databases.ts). */
  databases: Pick<Databases, "poolForGraphQL">;
  maxBodyBytes: number;
}

export function makeSchemaPreset(options: SchemaPresetOptions): GraphileConfig.Preset {
  const development = options.environment !== "production";
  const introspectAs = { role: options.topology.role("authenticated").name };
  return {
    extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
    plugins: [NoServicePrefixPlugin, UserScopedKeysPlugin],
    pgServices: (Object.keys(SERVICE_KEYS) as DatabaseKey[]).map((key) =>
      makePgService({
        name: SERVICE_KEYS[key].name,
        pool: options.databases.poolForGraphQL(key),
        schemas: [SERVICE_KEYS[key].schema],
        pgSettingsKey: SERVICE_KEYS[key].pgSettingsKey,
        withPgClientKey: SERVICE_KEYS[key].withPgClientKey,
        pgSettingsForIntrospection: introspectAs,
        pubsub: false,
      }),
    ),
    grafserv: {
      graphqlPath: "/graphql",
      graphiql: development,
      graphiqlPath: "/graphiql",
      graphiqlOnGraphQLGET: development,
      maxRequestLength: options.maxBodyBytes,
      maskError: makeErrorMask(options.environment),
    },
  };
}
