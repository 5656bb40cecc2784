/**
 * The statement that starts every transaction on a pooled connection: `begin`
 * and the transaction-local settings (role, user id, statement timeout,
 * parallel workers) in one round trip; behind a transaction pooler it also
 * reads the name of the server connection reached (server-statements.ts).
 * A simple-protocol query cannot carry parameters, so the values are quoted
 * as literals by the driver's own escaping; and since a statement's text is
 * logged (DATABASE_ECHO, slow statements) where parameter values never are,
 * `shownStatement` puts placeholders back before any log sees it.
 */
import type pg from "pg";
import type { TransactionSettings } from "./asking.ts";
import { SERVER_CONNECTION_COLUMN } from "./server-statements.ts";

const PREFIX = "begin; select coalesce(current_setting('app.current_user_id', true), '') as before, ";

/** What the pool, not who is asking, decides about each transaction (fair use). */
export interface TransactionLimits {
  /** e.g. "30000ms". */
  statementTimeout: string;
  parallelWorkers: number;
  /** Behind a pooler in transaction mode: also read the name of the server connection reached (server-statements.ts). */
  serverConnection?: boolean;
}

export function beginStatement(client: pg.ClientBase, settings: TransactionSettings, limits: TransactionLimits): string {
  const literal = (value: string) => client.escapeLiteral(value);
  return (
    PREFIX +
    `set_config('role', ${literal(settings.role)}, true), ` +
    `set_config('app.current_user_id', ${literal(settings["app.current_user_id"])}, true), ` +
    `set_config('statement_timeout', ${literal(limits.statementTimeout)}, true), ` +
    `set_config('max_parallel_workers_per_gather', ${literal(String(limits.parallelWorkers))}, true)` +
    (limits.serverConnection ? `, ${SERVER_CONNECTION_COLUMN}` : "")
  );
}

/** A statement's text as logs may show it: the begin statement's values replaced by placeholders. */
export function shownStatement(text: string): string {
  // The begin statement may follow what starts a server connection afresh (server-statements.ts).
  const at = text.indexOf(PREFIX);
  return at >= 0 ? `${text.slice(0, at)}${PREFIX}set_config('role', $1, true), set_config('app.current_user_id', $2, true), set_config('statement_timeout', $3, true), set_config('max_parallel_workers_per_gather', $4, true)${text.endsWith(SERVER_CONNECTION_COLUMN) ? `, ${SERVER_CONNECTION_COLUMN}` : ""}` : text;
}
