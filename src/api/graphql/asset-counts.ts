/**
 * A user's count of all their assets in constant time. `totalCount` on a
 * connection counts its rows; for the root `assets` field without a condition
 * that is every asset of the signed-in user, which for a heavy user meant
 * counting hundreds of thousands of rows per request and took a core from
 * everyone else. Such a connection reads the user's row of
 * user_data.user_asset_counts instead (kept by triggers in the same
 * transaction as each insert and delete, db/user_data 000009), under the same
 * row-level security. A connection with any condition (a `condition`
 * argument, a relation such as a project's assets) counts as before.
 */
import type {} from "postgraphile";
import { lambda, type Step } from "postgraphile/grafast";
import type { PgResource } from "postgraphile/@dataplan/pg";

/** What the decision reads of @dataplan/pg's select step (not public API: a change there turns the fast path off, never on). */
interface SelectShape {
  readonly resource?: PgResource;
  readonly conditions?: readonly unknown[];
  readonly havingConditions?: readonly unknown[];
  readonly applyDepIds?: readonly unknown[];
  readonly mode?: string;
}

const isPgTable = (resource: PgResource, schema: string, table: string) =>
  !resource.parameters && resource.codec.extensions?.pg?.schemaName === schema && resource.codec.extensions?.pg?.name === table;

/** True when the connection is every row the policies let the user see: no condition of its own. */
export function countsAllRows(select: SelectShape, resource: PgResource): boolean {
  return (
    select.resource === resource &&
    select.mode === "normal" &&
    Array.isArray(select.conditions) &&
    select.conditions.length === 0 &&
    Array.isArray(select.havingConditions) &&
    select.havingConditions.length === 0 &&
    Array.isArray(select.applyDepIds) &&
    select.applyDepIds.length === 0
  );
}

export const AssetCountsPlugin: GraphileConfig.Plugin = {
  name: "AssetCountsPlugin",
  description: "Answers totalCount of all the signed-in user's assets from user_asset_counts",
  version: "1.0.0",
  after: ["PgConnectionTotalCountPlugin"],
  schema: {
    hooks: {
      GraphQLObjectType_fields(fields, build, context) {
        const { isConnectionType, pgCodec } = context.scope;
        const totalCount = fields.totalCount;
        if (!isConnectionType || !pgCodec || !totalCount || typeof totalCount.plan !== "function") return fields;
        const resources = Object.values(build.input.pgRegistry.pgResources) as PgResource[];
        const assets = resources.find((r) => r.codec === pgCodec && isPgTable(r, "user_data", "user_content_assets"));
        const counts = resources.find((r) => isPgTable(r, "user_data", "user_asset_counts"));
        if (!assets || !counts) return fields;
        const countRows = totalCount.plan;
        return {
          ...fields,
          totalCount: {
            ...totalCount,
            plan(...args: Parameters<typeof countRows>) {
              const [$connection] = args as unknown as [{ getSubplan(): SelectShape }];
              if (!countsAllRows($connection.getSubplan(), assets)) return countRows(...args);
              // Row-level security leaves the signed-in user's row, or none when they have no assets.
              const $row = counts.find().single() as unknown as { get(attribute: string): Step<string | null> };
              const $count = $row.get("assets");
              return lambda($count, (n) => (n === null || n === undefined ? 0 : Number(n)), true);
            },
          },
        };
      },
    },
  },
};
