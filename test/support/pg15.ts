/**
 * A PostgreSQL 15 server for tests that need PostgreSQL's own client programs
 * (pg_dump, pg_restore) of the server's version: the test deployment's
 * server when it runs 15, else the machine's shared PostgreSQL 15 on
 * 127.0.0.1:5432 (PG15_ADMIN_URL overrides). Tests only provision
 * deployments of their own under unique prefixes there, and drop them.
 */
import pg from "pg";
import { testDeployment } from "./test-deployment.ts";

const SHARED_PG15 = "postgresql://postgres@127.0.0.1:5432/postgres";

async function majorAt(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ num: string }>("select current_setting('server_version_num') as num");
    return Math.floor(Number(rows[0]!.num) / 10_000);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function pg15AdminUrl(): Promise<string> {
  const own = testDeployment().adminUrl;
  if ((await majorAt(own)) === 15) return own;
  const shared = process.env.PG15_ADMIN_URL ?? SHARED_PG15;
  const major = await majorAt(shared);
  if (major !== 15) {
    throw new Error(`these tests need a PostgreSQL 15 server: ${major === undefined ? "none answers" : `PostgreSQL ${major} answers`} at PG15_ADMIN_URL (default ${SHARED_PG15}); run with DATABASE_ADMIN_URL or PG15_ADMIN_URL pointing at one`);
  }
  return shared;
}
