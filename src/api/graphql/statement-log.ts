/**
 * What happens to each timed statement (src/db/statement-timing.ts): one
 * slowed past SLOW_STATEMENT_MS is logged as a JSON line (database, duration,
 * the statement's first 300 characters, the request id when a request ran it;
 * never parameter values, which PostGraphile and the services always pass
 * separately), and one cancelled by statement_timeout is counted.
 */
import type { StatementObserver } from "../../db/statement-timing.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { currentRequest } from "../request-context.ts";

const STATEMENT_TIMEOUT = "57014";

export function statementObserver(slowStatementMs: number, metrics: Metrics, log: Logger): StatementObserver {
  return ({ database, text, ms, error }) => {
    if (error === STATEMENT_TIMEOUT) metrics.statementTimeouts.inc({ database });
    if (ms < slowStatementMs) return;
    const statement = text.replace(/\s+/g, " ").trim();
    log("slow_statement", {
      database,
      ms,
      statement: statement.length > 300 ? `${statement.slice(0, 300)}…` : statement,
      requestId: currentRequest.getStore()?.requestId ?? null,
      ...(error ? { error } : {}),
    });
  };
}
