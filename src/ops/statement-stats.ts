/**
 * `alwrity db top`: the most expensive statements of each database, from
 * pg_stat_statements. Statistics of every role are visible only to superusers
 * and members of pg_read_all_stats, so it reads through the admin login when
 * the deployment has one (the embedded server, DATABASE_ADMIN_URL), else
 * through the owner's migration login (grant it pg_read_all_stats on a
 * managed server to see the API's statements). It only reads.
 */
import pg from "pg";
import { describe } from "../db/pools.ts";
import { DATABASE_KEYS, type DatabaseKey } from "../topology.ts";
import type { Deployment } from "../bootstrap/deployment.ts";

export interface StatementStats {
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly rows: number;
  readonly role: string | null;
  /** Normalised by pg_stat_statements: constants are $1, $2 …, so no values appear. */
  readonly query: string;
}

export interface DatabaseTop {
  readonly key: DatabaseKey;
  readonly database: string;
  readonly statements: readonly StatementStats[];
}

const TOP = `
  select s.calls::float8 as calls, s.total_exec_time as "totalMs", s.mean_exec_time as "meanMs", s.rows::float8 as rows,
         r.rolname as role, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 300) as query
    from pg_stat_statements s
    join pg_database d on d.oid = s.dbid
    left join pg_roles r on r.oid = s.userid
   where d.datname = current_database()
   order by s.total_exec_time desc
   limit $1`;

function readerUrl(deployment: Deployment, key: DatabaseKey): string {
  const endpoints = deployment.endpoints(key);
  if (deployment.adminUrl) {
    const url = new URL(deployment.adminUrl);
    url.pathname = `/${encodeURIComponent(endpoints.name)}`;
    return url.toString();
  }
  return endpoints.migrationUrl ?? endpoints.apiUrl;
}

export async function topStatements(deployment: Deployment, limit: number): Promise<DatabaseTop[]> {
  const tops: DatabaseTop[] = [];
  for (const key of DATABASE_KEYS) {
    const database = deployment.endpoints(key).name;
    const client = new pg.Client({ connectionString: readerUrl(deployment, key), application_name: "alwrity-top" });
    try {
      await client.connect();
      await client.query("set default_transaction_read_only = on");
      const { rows } = await client.query<StatementStats>(TOP, [limit]);
      tops.push({ key, database, statements: rows.map((r) => ({ ...r, totalMs: round(r.totalMs), meanMs: round(r.meanMs) })) });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const advice =
        code === "42P01"
          ? "the pg_stat_statements extension is not installed there (alwrity db init creates it; on a managed server: create extension pg_stat_statements)"
          : code === "55000"
            ? "the server does not load pg_stat_statements: add it to shared_preload_libraries and restart (managed servers: see docs/operations.md)"
            : describe(error);
      throw new Error(`${database}: cannot read statement statistics: ${advice}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return tops;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
