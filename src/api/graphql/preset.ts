/**
 * The PostGraphile v5 preset: one pgService per database, clean names, and
 * exposure decided by grants (introspected as authenticated_users, so what a
 * signed-in user may do is exactly what the schema shows) and smart tags from
 * each database's tags file (smart-tags.ts). It is the whole GraphQL API, its
 * context included (who is asking, set by the auth gate, becomes each
 * database's transaction settings): the server (../http/server.ts) and the
 * schema export (src/tooling/schema-export.ts) both start from it, with the process's one Databases object: PostGraphile reaches
 * the databases through it (pg-adaptor.ts), never through a pool of its own.
 */
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import type {} from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import type { ApiSettings, Environment } from "../../config.ts";
import { transactionSettings } from "../../db/asking.ts";
import type { Databases } from "../../db/databases.ts";
import { DATABASE_KEYS, type Topology } from "../../topology.ts";
import { AssetCountsPlugin } from "./asset-counts.ts";
import { CurrentProfilePlugin } from "./current-profile.ts";
import { makeErrorMask } from "./errors.ts";
import { GraphQLOverHttpPlugin } from "./graphql-over-http.ts";
import { constraintColumnsPlugin, type ConstraintColumns } from "./input-errors.ts";
import { NoServicePrefixPlugin } from "./naming.ts";
import { NotFoundPlugin } from "./not-found.ts";
import { pageSizePlugin } from "./page-size.ts";
import { databaseAdaptor } from "./pg-adaptor.ts";
import { serviceKeys } from "./service-keys.ts";
import { smartTagsPlugin } from "./smart-tags.ts";
import { UserScopedKeysPlugin } from "./user-scoped-keys.ts";
import { currentRequest } from "../request-context.ts";

export interface SchemaPresetOptions {
  environment: Environment;
  topology: Topology;
  /** The process's database service API (src/db/databases.ts). */
  databases: Pick<Databases, "database">;
  api: Pick<ApiSettings, "maxBodyBytes" | "graphiql" | "limits">;
}

export function makeSchemaPreset(options: SchemaPresetOptions): GraphileConfig.Preset {
  // What any signed-in user may see: the schema shows exactly what a user may do.
  const introspectAs = transactionSettings({ kind: "anyUser" }, options.topology);
  // A request the auth gate did not see (none over HTTP) runs as nobody.
  const anonymous = transactionSettings({ kind: "anonymous" }, options.topology);
  // Each service's context key for its settings, worked out once rather than per request.
  const settingsKeys = DATABASE_KEYS.map((key) => serviceKeys(key).pgSettingsKey);
  // Which columns each constraint covers, from the introspection, so errors can name the field.
  const constraints: ConstraintColumns = new Map();
  return {
    extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
    plugins: [
      GraphQLOverHttpPlugin,
      NoServicePrefixPlugin,
      UserScopedKeysPlugin,
      CurrentProfilePlugin,
      AssetCountsPlugin,
      NotFoundPlugin,
      pageSizePlugin(options.api.limits),
      constraintColumnsPlugin(constraints),
      ...DATABASE_KEYS.map(smartTagsPlugin),
    ],
    pgServices: DATABASE_KEYS.map(
      (key): GraphileConfig.PgServiceConfiguration<"@dataplan/pg/adaptors/pg"> => ({
        ...serviceKeys(key),
        schemas: [options.topology.database(key).schema],
        pgSettingsForIntrospection: { ...introspectAs },
        adaptor: databaseAdaptor(options.databases.database(key), anonymous),
        adaptorSettings: undefined,
        // The pools belong to the Databases object, which its owner closes.
        release: () => undefined,
      }),
    ),
    grafserv: {
      graphqlPath: "/graphql",
      // Operations come by POST only, queries too (graphql-over-http.ts says why).
      graphqlOverGET: false,
      graphiql: options.api.graphiql,
      graphiqlPath: "/graphiql",
      graphiqlOnGraphQLGET: options.api.graphiql,
      maxRequestLength: options.api.maxBodyBytes,
      maskError: makeErrorMask(options.environment, undefined, constraints),
    },
    grafast: {
      context() {
        // Who is asking was set by the auth gate for this request; a request it did not see (none over HTTP) runs as nobody.
        const viewer = currentRequest.getStore()?.viewer;
        // Every service gets the same settings (its own copy), from the one rule the services use too.
        const settings = viewer?.kind === "user" ? transactionSettings({ kind: "user", userId: viewer.userId }, options.topology) : anonymous;
        const context: Partial<Grafast.Context> = {};
        for (const key of settingsKeys) context[key] = { ...settings };
        return context;
      },
    },
  };
}
