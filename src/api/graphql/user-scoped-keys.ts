/**
 * In the user-data database every primary key and unique constraint starts with
 * user_id, so the data can be distributed by user_id. Through the API a user
 * only ever sees their own rows (row-level security adds user_id = current user
 * to every query), so the rest of the key identifies a row there: this plugin
 * presents such keys to PostGraphile without user_id, giving clients
 * `project(rowId:)`, `personaByPersonaName(personaName:)` and node ids without
 * the redundant user id. The database keeps the composite keys.
 */
import type {} from "postgraphile";

export const UserScopedKeysPlugin: GraphileConfig.Plugin = {
  name: "AlwrityUserScopedKeysPlugin",
  version: "1.0.0",
  gather: {
    hooks: {
      pgTables_unique(_info, event) {
        const { unique } = event;
        if (unique.attributes.length > 1 && unique.attributes[0] === "user_id") {
          unique.attributes = unique.attributes.filter((name) => name !== "user_id");
        }
      },
    },
  },
};
