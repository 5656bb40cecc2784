/**
 * getDatabaseInfo: what is in a database and how its pool is doing: size,
 * tables with row estimates, row-level security and policies per table,
 * applied migrations, pool counts. Catalog reads need no rights, so they run
 * as the API's login; graphile-migrate's own table is readable by the owner
 * only, so the migrations are read through the migration login when one is
 * configured.
 */
import pg from "pg";
import { databaseSpec, type DatabaseKey } from "../topology.ts";
import { readAppliedMigrations } from "./migration-state.ts";
import type { TransactionSettings } from "./asking.ts";
import type { PoolStats } from "./database.ts";
import { describe } from "./pools.ts";
import { runInRole, type PoolContext } from "./role-transaction.ts";

export interface PolicyInfo {
  readonly name: string;
  /** select, insert, update, delete or all. */
  readonly command: string;
  readonly roles: readonly string[];
  readonly permissive: boolean;
}

export interface TableInfo {
  /** Schema-qualified. */
  readonly table: string;
  /** The planner's estimate; null until the table was first analysed. */
  readonly rowEstimate: number | null;
  readonly rlsEnabled: boolean;
  readonly rlsForced: boolean;
  readonly policies: readonly PolicyInfo[];
}

export interface AppliedMigration {
  readonly filename: string;
  readonly date: Date;
}

export interface DatabaseInfo {
  readonly key: DatabaseKey;
  readonly database: string;
  readonly sizeBytes: number;
  readonly tables: readonly TableInfo[];
  /** null when they could not be read; `migrationsNote` says why. */
  readonly migrations: readonly AppliedMigration[] | null;
  readonly migrationsNote?: string;
  readonly pool: PoolStats;
}

const TABLES = `
  select format('%I.%I', n.nspname, c.relname) as "table",
         case when c.reltuples < 0 then null else c.reltuples::float8 end as "rowEstimate",
         c.relrowsecurity as "rlsEnabled", c.relforcerowsecurity as "rlsForced",
         coalesce((select json_agg(json_build_object('name', p.policyname, 'command', lower(p.cmd), 'roles', p.roles,
                                                     'permissive', p.permissive = 'PERMISSIVE') order by p.policyname)
                     from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname), '[]') as policies
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p')
     and n.nspname not in ('pg_catalog', 'information_schema', 'graphile_migrate') and n.nspname !~ '^pg_'
   order by 1`;

export async function databaseInfo(key: DatabaseKey, ctx: PoolContext, login: TransactionSettings, migrationUrl: string | undefined): Promise<Omit<DatabaseInfo, "pool">> {
  const { sizeBytes, tables } = await runInRole(ctx, login, { key, asking: "login" }, async (session) => {
    const size = await session.query<{ size: number }>("select pg_database_size(current_database())::float8 as size");
    const tables = await session.query<TableInfo & pg.QueryResultRow>(TABLES);
    return { sizeBytes: size.rows[0]!.size, tables: tables.rows };
  });
  const migrations = await appliedMigrations(migrationUrl, databaseSpec(key).folder, ctx.settings.timeoutMs);
  return { key, database: ctx.target.name, sizeBytes, tables, ...migrations };
}

async function appliedMigrations(migrationUrl: string | undefined, folder: string, timeoutMs: number): Promise<Pick<DatabaseInfo, "migrations" | "migrationsNote">> {
  if (!migrationUrl) return { migrations: null, migrationsNote: "no migration login configured (*_MIGRATION_DATABASE_URL)" };
  const client = new pg.Client({ connectionString: migrationUrl, connectionTimeoutMillis: timeoutMs, application_name: "alwrity-info" });
  try {
    await client.connect();
    return { migrations: await readAppliedMigrations<AppliedMigration>((sql, values) => client.query(sql, values), folder, "filename, date", false) };
  } catch (error) {
    return { migrations: null, migrationsNote: `could not read graphile_migrate.migrations: ${describe(error)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}
