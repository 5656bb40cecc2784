/**
 * Runs one generated query in the caller's session. The caller chose the
 * transaction and who is asking (withUserContext, withPlatformAdmin), so
 * row-level security, not the query text, decides whose rows a query sees,
 * and several service calls can share one transaction.
 */
import type { IDatabaseConnection, PreparedQuery } from "@pgtyped/runtime";
import type { Session } from "../db/session.ts";

export function run<P, R>(session: Session, query: PreparedQuery<P, R>, params: P): Promise<R[]> {
  return query.run(params, connection(session));
}

/** pgtyped's view of a connection; pg reports no row count for some commands, pgtyped wants a number. */
function connection(session: Session): IDatabaseConnection {
  return {
    query: async (text, values) => {
      const result = await session.query(text, values);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
  };
}

/** The one row a statement returns, or an error saying which statement returned none. */
export function single<R>(rows: R[], what: string): R {
  const row = rows[0];
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

/**
 * jsonb parameters travel as JSON text: pg would send a JavaScript array as a
 * PostgreSQL array literal and a string without quotes, neither valid JSON.
 */
export function jsonb<T>(value: T): T {
  return (value === undefined || value === null ? value : JSON.stringify(value)) as T;
}

/**
 * A patch means what it means in the GraphQL API: a field that is present is
 * set, to null too; a field that is absent keeps its value. The update
 * queries take the list of present fields (`fields`, column names) and set
 * only those, so null can be told from absent.
 */
export function patchFields(patch: object): string[] {
  return Object.keys(patch)
    .filter((k) => (patch as Record<string, unknown>)[k] !== undefined)
    .map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}
