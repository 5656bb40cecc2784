/**
 * updateCurrentProfile: a profile is one per user, so changing it names no
 * user. The mutation updates the row whose user_id is the signed-in user's
 * (the id the request's transaction runs with), applying the same
 * ProfilePatch as updateProfile: fields given are set (to null too), absent
 * ones keep their value. Row-level security still decides what the update
 * may touch; an anonymous request updates nothing.
 */
import type {} from "postgraphile";
import { pgUpdateSingle, type PgResource } from "postgraphile/@dataplan/pg";
import { context, lambda, object, type FieldArgs } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import { databaseSpec } from "../../topology.ts";
import { serviceKeys } from "./service-keys.ts";

const PROFILE_TABLE = { schema: databaseSpec("userData").schema, table: "user_profiles" };

export const CurrentProfilePlugin: GraphileConfig.Plugin = extendSchema((build) => {
  const resource = Object.values(build.input.pgRegistry.pgResources).find(
    (r) => !r.parameters && r.codec.extensions?.pg?.schemaName === PROFILE_TABLE.schema && r.codec.extensions?.pg?.name === PROFILE_TABLE.table,
  ) as PgResource | undefined;
  if (!resource) throw new Error(`updateCurrentProfile: no resource for ${PROFILE_TABLE.schema}.${PROFILE_TABLE.table}`);
  const { pgSettingsKey } = serviceKeys("userData");
  return {
    typeDefs: gql`
      """All input for the \`updateCurrentProfile\` mutation."""
      input UpdateCurrentProfileInput {
        """An arbitrary string value with no semantic meaning, returned in the payload unchanged."""
        clientMutationId: String
        """The fields to change; fields left out keep their value."""
        patch: ProfilePatch!
      }
      extend type Mutation {
        """Updates the signed-in user's profile (one per user) with a patch: no id needed."""
        updateCurrentProfile(input: UpdateCurrentProfileInput!): UpdateProfilePayload
      }
    `,
    inputObjects: {
      UpdateCurrentProfileInput: {
        plans: {
          clientMutationId: (qb: { setMeta(key: string, value: unknown): void }, value: unknown) => qb.setMeta("clientMutationId", value),
          patch: (qb: { setBuilder(): unknown }, value: unknown) => (value != null ? qb.setBuilder() : undefined),
        },
      },
    },
    objects: {
      Mutation: {
        plans: {
          updateCurrentProfile: {
            plan(_$root: unknown, args: FieldArgs) {
              // The user id the request's transaction runs with; none (anonymous) matches no row.
              const $settings = context().get(pgSettingsKey);
              const $userId = lambda($settings, (s) => (s as Record<string, string> | null)?.["app.current_user_id"] || null);
              const $update = pgUpdateSingle(resource, { user_id: $userId });
              args.apply($update);
              return object({ result: $update });
            },
            args: { input: { applyPlan: (_: unknown, $object: unknown) => $object } },
          },
        },
      },
    },
  };
});
