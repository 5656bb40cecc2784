/**
 * What a callback of withUserContext / withPlatformAdmin receives: a query
 * method on the transaction's connection, and nothing else (no release, no
 * way to keep the connection). It stops working when the transaction ends,
 * so a callback that kept it cannot reach a connection that by then serves
 * another user. With DATABASE_ECHO every statement is logged with its
 * duration and the number of its parameters, never their values.
 *
 * Services take the caller's session as their first argument (as
 * graphile-worker's functions take its withPgClient): the caller decides the
 * transaction, so several calls compose in one, and the session's type says
 * which database it is on and who is asking, so a user's session cannot be
 * passed to a platform-admin service or to the other database's.
 */
import type pg from "pg";
import type { Logger } from "../log.ts";
import type { DatabaseKey } from "../topology.ts";
import type { Asking } from "./asking.ts";
import { shownStatement } from "./begin-statement.ts";

export interface Session {
  /** Runs one statement in the transaction; `values` fill $1, $2, ... */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export interface ScopedSession<D extends DatabaseKey = DatabaseKey, A extends Asking["kind"] = Asking["kind"]> extends Session {
  readonly database: D;
  readonly asking: A;
}

/** A transaction as a signed-in user, on database D. */
export type UserSession<D extends DatabaseKey = DatabaseKey> = ScopedSession<D, "user">;
/** A transaction as the platform admin (trusted backend services), on the platform database. */
export type AdminSession = ScopedSession<"platform", "platformAdmin">;
/** A transaction as the job worker's role, on the user-data database (entitlements). */
export type WorkerSession = ScopedSession<"userData", "worker">;
/** The worker's role on the platform database, where the job queue lives. */
export type QueueSession = ScopedSession<"platform", "worker">;

export interface OpenSession<S extends Session = Session> {
  readonly session: S;
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
      echo?.("statement", { database, statement: shownStatement(text), params: values?.length ?? 0, ms: elapsed(started), rows: rowCount(result) });
      return result;
    } catch (error) {
      echo?.("statement", { database, statement: shownStatement(text), params: values?.length ?? 0, ms: elapsed(started), error: (error as pg.DatabaseError).code ?? "failed" });
      throw error;
    }
  };
}

export function openSession<D extends DatabaseKey, A extends Asking["kind"]>(
  client: pg.PoolClient,
  scope: { key: D; name: string; asking: A },
  echo: Logger | undefined,
): OpenSession<ScopedSession<D, A>> {
  let open = true;
  const database = scope.name;
  const run = echoingRunner(client, database, echo);
  return {
    session: {
      database: scope.key,
      asking: scope.asking,
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
