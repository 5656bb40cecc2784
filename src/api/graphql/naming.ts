/**
 * Names a front-end developer would choose. PostGraphile prefixes the types of
 * every service but the first with the service's name; our two databases hold
 * tables with distinct names, so the prefix only adds noise. Each service
 * exposes one schema, so the schema part of the prefix is empty too.
 */
import type {} from "postgraphile";

export const NoServicePrefixPlugin: GraphileConfig.Plugin = {
  name: "AlwrityNoServicePrefixPlugin",
  version: "1.0.0",
  inflection: {
    replace: {
      // GraphQL convention: enum values in CONSTANT_CASE (blog_post -> BLOG_POST).
      enumValue(previous, _options, value, codec) {
        return previous!.call(this, value, codec).toUpperCase();
      },
      _schemaPrefix(_previous, options, details) {
        const services = (options as { pgServices?: ReadonlyArray<{ name: string; schemas?: readonly string[] }> }).pgServices;
        const service = services?.find((s) => s.name === details.serviceName);
        const first = service?.schemas?.[0];
        return details.pgNamespace.nspname === first ? "" : `${details.pgNamespace.nspname}_`;
      },
    },
  },
};
