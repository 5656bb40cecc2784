/**
 * How PostGraphile reaches a database: through the database service API
 * (src/db/), never through a pool of its own. PostGraphile calls withPgClient
 * with the settings grafast.context computed (transactionSettings of who is
 * asking); the database handle runs the same transaction the services run,
 * with the same settings rule and the same check for leftover session state,
 * and PostGraphile's client works inside it (savepoints for its own nested
 * transactions). A request with an Idempotency-Key runs every withPgClient
 * of its own in one transaction per request instead (held-transactions.ts).
 */
import type {} from "postgraphile";
import type { PgAdaptor } from "postgraphile/@dataplan/pg";
import { makeWithPgClientViaPgClientAlreadyInTransaction, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import type { WithPgClient } from "postgraphile/@dataplan/pg";
import type { TransactionSettings } from "../../db/asking.ts";
import type { UserScopedDatabase } from "../../db/database.ts";
import { idempotentRequest } from "../idempotency/held-transactions.ts";

type PgSettings = Record<string, string | undefined> | null;

export function databaseAdaptor(database: UserScopedDatabase, fallback: TransactionSettings): PgAdaptor<"@dataplan/pg/adaptors/pg"> {
  const withPgClient: WithPgClient<NodePostgresPgClient> = (pgSettings, callback) => {
    const idempotent = idempotentRequest.getStore();
    if (idempotent) return idempotent.withPgClient(database, settingsOf(pgSettings, fallback), callback);
    return database.withSettingsClient(settingsOf(pgSettings, fallback), (client) => makeWithPgClientViaPgClientAlreadyInTransaction(client, true)(null, callback));
  };
  return {
    createWithPgClient: () => withPgClient,
    makePgService: () => {
      throw new Error("services are made by preset.ts");
    },
  };
}

/** Only the two settings transactionSettings produces are accepted; anything else is a bug. */
function settingsOf(pgSettings: PgSettings, fallback: TransactionSettings): TransactionSettings {
  if (pgSettings === null) return fallback;
  const role = pgSettings.role;
  const userId = pgSettings["app.current_user_id"];
  // Counted, not sorted and joined: this runs for every database a request reaches.
  let count = 0;
  for (const key in pgSettings) if (Object.hasOwn(pgSettings, key)) count++;
  if (count !== 2 || typeof role !== "string" || typeof userId !== "string") {
    const keys = Object.keys(pgSettings).sort().join(",");
    throw new Error(`GraphQL settings must come from transactionSettings (role and app.current_user_id), got ${keys || "none"}`);
  }
  return { role, "app.current_user_id": userId };
}
