/**
 * Act as someone inside a transaction that is always rolled back (graphile/
 * starter's withUserDb): `withUserDb(url, { kind: "user", userId }, (client)
 * => ...)` connects, begins a transaction with the settings the project's one
 * rule gives for that caller (src/db/asking.ts's transactionSettings, applied
 * by the begin statement every pooled transaction starts with,
 * src/db/begin-statement.ts), runs the callback and rolls back, whatever it
 * did. Nothing the test writes outlives it, so it may use the shared test
 * deployment. `target` is a login that may take the role: the API's
 * authenticator, or a superuser.
 */
import type pg from "pg";
import { FAIR_USE_DEFAULTS } from "../../src/config.ts";
import { transactionSettings, type Asking } from "../../src/db/asking.ts";
import { beginStatement } from "../../src/db/begin-statement.ts";
import type { Topology } from "../../src/topology.ts";
import { connect, type ClientConfig } from "./connect.ts";

export interface UserDbOptions {
  /** Transaction-local planner or other settings (enable_seqscan: off, ...), applied after who is asking. */
  settings?: Record<string, string>;
}

export async function withUserDb<T>(
  target: ClientConfig,
  topology: Topology,
  asking: Asking,
  use: (client: pg.Client) => Promise<T>,
  options: UserDbOptions = {},
): Promise<T> {
  return connect(target, async (client) => {
    const limits = { statementTimeout: `${FAIR_USE_DEFAULTS.statementTimeoutMs}ms`, parallelWorkers: FAIR_USE_DEFAULTS.parallelWorkers };
    // A failed begin leaves no transaction; the rollback below then only warns.
    try {
      await client.query(beginStatement(client, transactionSettings(asking, topology), limits));
      for (const [name, value] of Object.entries(options.settings ?? {})) await client.query("select set_config($1, $2, true)", [name, value]);
      return await use(client);
    } finally {
      await client.query("rollback");
    }
  });
}
