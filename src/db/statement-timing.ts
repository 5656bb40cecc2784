/**
 * Every statement on the API's connections, timed: the pools are made with a
 * pg.Client subclass whose query() reports how long each statement took and
 * how it ended, to whoever listens (slow-statement log, metrics). Services and
 * PostGraphile both call client.query on these connections, so nothing slips
 * past. The text is handed on, never the parameter values.
 *
 * Written here because pg offers no per-query hook; a custom Client class is
 * pg-pool's documented way to change how connections behave.
 */
import pg from "pg";
import { shownStatement } from "./begin-statement.ts";

export interface StatementTiming {
  /** The database's name. */
  readonly database: string;
  readonly text: string;
  readonly ms: number;
  /** The SQLSTATE when the statement failed ("failed" when there was none). */
  readonly error?: string;
}

export type StatementObserver = (timing: StatementTiming) => void;

export function timedClientClass(database: string, observe: StatementObserver): typeof pg.Client {
  return class TimedClient extends pg.Client {
    // pg's overloads cannot be restated one by one; the promise forms are timed, the callback and submittable forms pass through.
    override query(...args: unknown[]): never {
      const first = args[0] as { text?: unknown; submit?: unknown } | string;
      const query = (super.query as (...a: unknown[]) => unknown).bind(this);
      if (typeof args.at(-1) === "function" || (typeof first === "object" && typeof first?.submit === "function")) return query(...args) as never;
      const text = shownStatement(typeof first === "string" ? first : String(first?.text ?? ""));
      const started = performance.now();
      const done = (error?: unknown) => {
        const ms = Math.round((performance.now() - started) * 1000) / 1000;
        try {
          observe({ database, text, ms, ...(error === undefined ? {} : { error: String((error as { code?: unknown }).code ?? "failed") }) });
        } catch {
          // An observer's failure must never fail the statement.
        }
      };
      const result = query(...args) as Promise<unknown>;
      result.then(() => done(), (error: unknown) => done(error));
      return result as never;
    }
  };
}
