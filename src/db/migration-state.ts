/**
 * Which database's graphile-migrate record a session reads. graphile-migrate keeps its state in
 * the fixed schema `graphile_migrate` (no setting moves it; upstream declined one, graphile/migrate
 * #236). Where both databases live in one database (the one-database setup), that schema holds
 * views over one table per kind with a `set_name` column (src/bootstrap/migration-sets.ts), and a
 * session sees the rows of the set named by this setting. Every reader sets it to the database's
 * folder; where each database has its own record the setting is simply never read.
 */
import type pg from "pg";

/** A custom setting (a dotted name needs no declaration); its value is the database's folder. */
export const MIGRATION_SET_SETTING = "alwrity.migration_set";

type Query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Runs `select <columns> from graphile_migrate.migrations order by filename` as the given
 * database's set. `inTransaction`: the caller holds a transaction, so the setting is made
 * transaction-local; otherwise the read runs in a transaction of its own for the same reason
 * (a pooled connection keeps nothing).
 */
export async function readAppliedMigrations<R extends pg.QueryResultRow>(query: Query, folder: string, columns: string, inTransaction: boolean): Promise<R[]> {
  const read = async () => {
    await query("select pg_catalog.set_config($1, $2, true)", [MIGRATION_SET_SETTING, folder]);
    return (await query<R>(`select ${columns} from graphile_migrate.migrations order by filename`)).rows;
  };
  if (inTransaction) return read();
  await query("begin read only");
  try {
    const rows = await read();
    await query("commit");
    return rows;
  } catch (error) {
    await query("rollback").catch(() => undefined);
    throw error;
  }
}
