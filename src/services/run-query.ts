/**
 * Runs one generated query inside the right scope. User data is only ever
 * read or written through withUserContext, so row-level security, not the
 * query text, decides whose rows a query sees.
 */
import type { IDatabaseConnection, PreparedQuery } from "@pgtyped/runtime";
import type { PlatformDatabase, UserScopedDatabase } from "../db/database.ts";
import type { Session } from "../db/session.ts";

/** Runs `query` as the signed-in user `userId`. */
export function asUser<P, R>(db: UserScopedDatabase, userId: string, query: PreparedQuery<P, R>, params: P): Promise<R[]> {
  return db.withUserContext(userId, (session) => query.run(params, connection(session)));
}

/** Runs `query` as the platform admin (trusted services only). */
export function asPlatformAdmin<P, R>(db: PlatformDatabase, query: PreparedQuery<P, R>, params: P): Promise<R[]> {
  return db.withPlatformAdmin((session) => query.run(params, connection(session)));
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
