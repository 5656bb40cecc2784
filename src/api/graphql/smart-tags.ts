/**
 * Smart tags from each database's tags file, db/<folder>/postgraphile.tags.json5
 * (PostGraphile's own TagsFilePlugin mechanism, pgSmartTagsFromFile). The
 * plugin would apply every rule to both databases' introspection and warn
 * about each rule that matches nothing in the other one, so each file's
 * plugin only sees its own database's service.
 */
import path from "node:path";
import type {} from "postgraphile";
import { pgSmartTagsFromFile } from "postgraphile/utils";
import { PROJECT_ROOT } from "../../config.ts";
import { databaseFiles, databaseSpec, type DatabaseKey } from "../../topology.ts";

export function tagsFile(key: DatabaseKey): string {
  return path.join(PROJECT_ROOT, databaseFiles(databaseSpec(key)).tags);
}

export function smartTagsPlugin(key: DatabaseKey): GraphileConfig.Plugin {
  const plugin = pgSmartTagsFromFile(tagsFile(key), `${key}SmartTagsPlugin` as keyof GraphileConfig.Plugins);
  const gather = plugin.gather as { hooks?: Record<string, (info: unknown, event: { serviceName: string }) => unknown> };
  const hook = gather.hooks?.pgIntrospection_introspection;
  if (!hook) throw new Error("pgSmartTagsFromFile no longer hooks pgIntrospection_introspection; see src/api/graphql/smart-tags.ts");
  return {
    ...plugin,
    gather: {
      ...plugin.gather,
      hooks: {
        ...gather.hooks,
        pgIntrospection_introspection: (info: unknown, event: { serviceName: string }) => (event.serviceName === key ? hook(info, event) : undefined),
      },
    } as GraphileConfig.Plugin["gather"],
  };
}
