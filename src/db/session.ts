/**
 * What a callback of withUserContext / withPlatformAdmin receives: a query
 * method on the transaction's connection, and nothing else (no release, no
 * way to keep the connection). It stops working when the transaction ends,
 * so a callback that kept it cannot reach a connection that by then serves
 * another user. With DATABASE_ECHO every statement is logged with its
 * duration and the number of its parameters, never their values.
 */
import type pg from "pg";
import type { Logger } from "../log.ts";

export interface Session {
  /** Runs one statement in the transaction; `values` fill $1, $2, ... */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export interface OpenSession {
  readonly session: Session;
  /** Ends the callback's access to the connection. */
  close(): void;
}

/** Runs a statement on a connection, logging it when DATABASE_ECHO is on. */
export type Runner = (text: string, values?: readonly unknown[]) => Promise<pg.QueryResult | pg.QueryResult[]>;

export function echoingRunner(client: pg.PoolClient, database: string, echo: Logger | undefined): Runner {
  return async (text, values) => {
    const started = performance.now();
    try {
      const result = (await client.query(text, values as unknown[] | undefined)) as pg.QueryResult | pg.QueryResult[];
      echo?.("statement", { database, statement: text, params: values?.length ?? 0, ms: elapsed(started), rows: rowCount(result) });
      return result;
    } catch (error) {
      echo?.("statement", { database, statement: text, params: values?.length ?? 0, ms: elapsed(started), error: (error as pg.DatabaseError).code ?? "failed" });
      throw error;
    }
  };
}

export function openSession(client: pg.PoolClient, database: string, echo: Logger | undefined): OpenSession {
  let open = true;
  const run = echoingRunner(client, database, echo);
  return {
    session: {
      query: async <R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]) => {
        if (!open) throw new Error(`${database}: this transaction has ended; use the session only inside its callback`);
        return (await run(text, values)) as pg.QueryResult<R>;
      },
    },
    close: () => {
      open = false;
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function rowCount(result: pg.QueryResult | pg.QueryResult[]): number | null {
  return Array.isArray(result) ? null : result.rowCount;
}
