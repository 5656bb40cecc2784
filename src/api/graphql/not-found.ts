/**
 * Updating or deleting a row that is not yours, or that does not exist, gives
 * the same answer. PostGraphile flags an error for a delete that matched no
 * row but answers an update that matched none with a null row; this plugin
 * makes the update flag the same error, and the error mask (errors.ts) turns
 * both into one NOT_FOUND error naming the collection. Row-level security
 * already hides other users' rows, so "not yours" and "missing" are
 * indistinguishable to the database, and stay so to the client.
 */
import type {} from "postgraphile";
import { lambda, object, type ExecutableStep, type ObjectStep } from "postgraphile/grafast";

export const NotFoundPlugin: GraphileConfig.Plugin = {
  name: "AlwrityNotFoundPlugin",
  version: "1.0.0",
  schema: {
    hooks: {
      GraphQLObjectType_fields_field(field, _build, context) {
        const scope = context.scope as { isPgUpdateMutation?: boolean; pgFieldResource?: { name: string } };
        const plan = field.plan;
        if (!scope.isPgUpdateMutation || !plan || !scope.pgFieldResource) return field;
        const collection = scope.pgFieldResource.name;
        return {
          ...field,
          plan(...planArgs: Parameters<typeof plan>) {
            const $payload = plan(...planArgs) as ObjectStep<{ result: ExecutableStep }>;
            const $row = $payload.getStepForKey("result");
            const $found = lambda($row, (row) => {
              if (row == null) throw new Error(`No values were updated in collection '${collection}' because no values you can update were found matching these criteria.`);
              return true;
            });
            // The payload fails when the row was not found, as a delete's does.
            return object({ result: $row, found: $found });
          },
        };
      },
    },
  },
};

/** PostGraphile's own message for an update or delete that matched no visible row (the same form for both, above). */
const NOTHING_MATCHED = /^No values were (?:updated|deleted) in collection '(\w+)'/;

/** The one error clients get for a row that is missing or not theirs, for updates and deletes alike. */
export function notFoundMessage(message: string): string | undefined {
  const collection = NOTHING_MATCHED.exec(message)?.[1];
  return collection && `No row of ${collection} with this id exists that you may change`;
}
