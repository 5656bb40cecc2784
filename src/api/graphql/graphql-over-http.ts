/**
 * GraphQL over HTTP, where the API departs from grafserv's defaults.
 *
 * A client that names no media type (no Accept header, or only wildcards such
 * as `*\/*`) gets application/json, as the GraphQL-over-HTTP spec says it
 * SHOULD: such a client cannot be assumed to understand
 * application/graphql-response+json, and grafserv (after the spec's 2025
 * watershed) would choose that one. A client that asks for
 * application/graphql-response+json still gets it, with its status codes.
 *
 * GET is refused (405) for every operation, queries included: the query and
 * its variables would travel in the URL, into proxies' and servers' access
 * logs, and every answer depends on who asks (Authorization), so HTTP caches
 * could not use it anyway. grafserv's graphqlOverGET stays off; GET on the
 * GraphQL path only serves GraphiQL to a browser where GraphiQL is enabled.
 */
import type {} from "postgraphile";

/** Whether an Accept header names no media type of its own: absent, empty, or only `*\/*` (with any parameters). */
export function namesNoMediaType(accept: string | undefined): boolean {
  if (accept === undefined) return true;
  return accept
    .split(",")
    .map((range) => range.split(";")[0]!.trim())
    .every((type) => type === "" || type === "*/*");
}

export const GraphQLOverHttpPlugin: GraphileConfig.Plugin = {
  name: "AlwrityGraphQLOverHttpPlugin",
  version: "1.0.0",
  grafserv: {
    middleware: {
      processRequest(next, event) {
        const { path, headers } = event.requestDigest;
        // The digest's headers are grafserv's own copy, read when it chooses the response's type.
        if (path === (event.resolvedPreset.grafserv?.graphqlPath ?? "/graphql") && namesNoMediaType(headers.accept)) headers.accept = "application/json";
        return next();
      },
    },
  },
};
