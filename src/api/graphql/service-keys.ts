/**
 * The GraphQL context keys of each database's PostGraphile service, derived
 * from the database's key: the preset names its services with them, and
 * plugins that reach one database (current-profile.ts) read its settings or
 * client under them. Apart from the preset so plugins need not import it.
 */
import type {} from "postgraphile";
import type { WithPgClient } from "postgraphile/@dataplan/pg";
import type { NodePostgresPgClient } from "postgraphile/adaptors/pg";
import type { DatabaseKey } from "../../topology.ts";

type PgSettings = Record<string, string | undefined> | null;
/** Each database's service puts its settings and its client on the context under keys derived from its key. */
type ServiceContext = { [K in DatabaseKey as `${K}PgSettings`]: PgSettings } & {
  [K in DatabaseKey as `${K}WithPgClient`]: WithPgClient<NodePostgresPgClient>;
};
declare global {
  namespace Grafast {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Context extends ServiceContext {}
  }
}

/**
 * The GraphQL context keys of each database's service, derived from its key
 * (platform -> platformPgSettings, platformWithPgClient); the service's name
 * is the key too.
 */
export interface ServiceKeys {
  readonly name: DatabaseKey;
  readonly pgSettingsKey: `${DatabaseKey}PgSettings`;
  readonly withPgClientKey: `${DatabaseKey}WithPgClient`;
}

export function serviceKeys(key: DatabaseKey): ServiceKeys {
  return { name: key, pgSettingsKey: `${key}PgSettings`, withPgClientKey: `${key}WithPgClient` };
}
