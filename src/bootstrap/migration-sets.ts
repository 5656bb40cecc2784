/**
 * The one-database setup (both URLs name one database, as with one Supabase project): the
 * platform's and the user data's schemas live side by side, and each keeps its own migration
 * state. graphile-migrate records applied migrations in the fixed table
 * graphile_migrate.migrations: no setting moves it (upstream declined one, graphile/migrate #236),
 * so two databases' chains in one database would read each other's record, and the second would
 * find itself "already up to date" with none of its tables.
 *
 * Here that table becomes a view over graphile_migrate.set_migrations, which has a set_name column:
 * the view shows, and inserts into, the rows of the set named by the session's
 * alwrity.migration_set (src/db/migration-state.ts), which graphile-migrate sets through its
 * pgSettings on every connection (migrationSettings) and every reader sets before reading. An
 * automatically updatable view keeps graphile-migrate's own SQL working unchanged (its
 * `create table if not exists` skips the existing relation), and without the setting the view
 * fails loudly instead of mixing the two records. Chosen over renaming schemas around each run,
 * which a crash mid-run would leave with the wrong record in place.
 *
 * Where each database has its own, nothing here runs.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { PROJECT_ROOT } from "../config.ts";
import { MISSING_TABLES, expectedSchema } from "../db/expected-schema.ts";
import { MIGRATION_SET_SETTING } from "../db/migration-state.ts";
import { databaseFiles, type DatabaseKey } from "../topology.ts";
import type { Deployment } from "./deployment.ts";

const SETS_TABLE = `
  create table if not exists graphile_migrate.set_migrations (
    set_name text not null default current_setting('${MIGRATION_SET_SETTING}'),
    hash text not null,
    previous_hash text,
    filename text not null,
    date timestamptz not null default now(),
    primary key (set_name, hash),
    foreign key (set_name, previous_hash) references graphile_migrate.set_migrations (set_name, hash)
  )`;

const SETS_VIEW = `
  create or replace view graphile_migrate.migrations as
    select hash, previous_hash, filename, date from graphile_migrate.set_migrations
     where set_name = current_setting('${MIGRATION_SET_SETTING}')
    with cascaded check option`;

/** The grants on the plain record, table-wide and per column, as statements to repeat on the view. */
const RECORD_GRANTS = `
  select format('grant %s on graphile_migrate.migrations to %I', a.privilege_type, r.rolname) as grant
    from pg_class c cross join lateral aclexplode(c.relacl) a join pg_roles r on r.oid = a.grantee
   where c.oid = 'graphile_migrate.migrations'::regclass and a.grantee <> c.relowner
  union all
  select format('grant %s (%I) on graphile_migrate.migrations to %I', a.privilege_type, att.attname, r.rolname)
    from pg_attribute att cross join lateral aclexplode(att.attacl) a join pg_roles r on r.oid = a.grantee
   where att.attrelid = 'graphile_migrate.migrations'::regclass and att.attnum > 0 and not att.attisdropped`;

/** Commands that would act on the whole shared database, or on state the two sets share. */
const WHOLE_DATABASE_COMMANDS: Record<string, string> = {
  reset: "drops and re-creates the whole database, which here holds both databases' schemas",
  watch: "keeps current.sql's state in graphile_migrate.current, which here both databases share",
};

/** Refuses, with the reason, what cannot work on one shared database. */
export function refuseOnSharedDatabase(deployment: Deployment, command: string): void {
  const reason = WHOLE_DATABASE_COMMANDS[command];
  if (deployment.sharedDatabase && reason) {
    throw new Error(
      `db:${command} is refused here: both database URLs name one database (${deployment.platform.name}), and ${command} ${reason}; use a development deployment with two databases (the embedded default) for it`,
    );
  }
}

/**
 * Makes graphile_migrate.migrations the per-set view, once, in one transaction under a lock.
 * A record from before (a table, written when only the platform's chain could be recorded)
 * becomes the platform's set when every row in it is one of the platform's committed
 * migrations; otherwise it stops and says which rows it cannot place.
 */
export async function prepareMigrationSets(deployment: Deployment): Promise<void> {
  if (!deployment.sharedDatabase) return;
  const url = deployment.platform.migrationUrl;
  if (!url) throw new Error(`No migration login for ${deployment.platform.name}: set PLATFORM_MIGRATION_DATABASE_URL to the owner's URL`);
  const client = new pg.Client({ connectionString: url, application_name: "alwrity-migration-sets" });
  await client.connect();
  try {
    await client.query("begin");
    await client.query("select pg_advisory_xact_lock(hashtext('alwrity migration sets'))");
    const { rows } = await client.query<{ kind: string | null }>("select (select relkind::text from pg_class where oid = to_regclass('graphile_migrate.migrations')) as kind");
    const kind = rows[0]!.kind;
    if (kind === "v") {
      await client.query("commit");
      return;
    }
    await client.query("create schema if not exists graphile_migrate");
    await client.query(SETS_TABLE);
    let grants: string[] = [];
    if (kind === "r") {
      await adoptAsPlatformSet(client, deployment);
      grants = (await client.query<{ grant: string }>(RECORD_GRANTS)).rows.map((r) => r.grant);
      await client.query("drop table graphile_migrate.migrations");
    }
    await client.query(SETS_VIEW);
    // The migrations' grants on the record (the API's login reads the file names) carry over to the view.
    for (const grant of grants) await client.query(grant);
    await client.query("commit");
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

async function adoptAsPlatformSet(client: pg.Client, deployment: Deployment): Promise<void> {
  const spec = deployment.topology.database("platform");
  const known = committedHashes(databaseFiles(spec).committed);
  const { rows } = await client.query<{ filename: string; hash: string }>("select filename, hash from graphile_migrate.migrations order by filename");
  const strangers = rows.filter((r) => !known.has(r.hash));
  if (strangers.length > 0) {
    throw new Error(
      `graphile_migrate.migrations in ${deployment.platform.name} records migrations that are not the platform's (${strangers.map((r) => r.filename).join(", ")}), ` +
        `so it cannot be told which database they belong to; move that record aside by hand (see docs/setups.md)`,
    );
  }
  await client.query(
    "insert into graphile_migrate.set_migrations (set_name, hash, previous_hash, filename, date) select $1, hash, previous_hash, filename, date from graphile_migrate.migrations order by filename",
    [spec.folder],
  );
}

/** The `--! Hash:` header of every committed migration in a folder. */
function committedHashes(folder: string): Set<string> {
  const dir = path.join(PROJECT_ROOT, folder);
  const hashes = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql"))) {
    const match = /^--! Hash: (\S+)$/m.exec(readFileSync(path.join(dir, file), "utf8"));
    if (match) hashes.add(match[1]!);
  }
  return hashes;
}

/**
 * Fails, naming them, when tables the committed migrations make are missing although
 * graphile-migrate reports the database up to date: its record then describes another database
 * (before migration sets, the user data's record in a shared database was the platform's).
 */
export async function requireExpectedTables(deployment: Deployment, key: DatabaseKey): Promise<void> {
  const endpoints = deployment.endpoints(key);
  const client = new pg.Client({ connectionString: endpoints.migrationUrl ?? endpoints.apiUrl, application_name: "alwrity-status" });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(MISSING_TABLES, [expectedSchema(key).tables]);
    if (rows.length > 0) {
      throw new Error(
        `${endpoints.name}: graphile-migrate records every migration as applied, but ${rows.length} table(s) the migrations make are missing (${rows.map((r) => r.table_name).join(", ")}); ` +
          `its migration record is not this database's: run \`npm run db:migrate\` (see docs/setups.md)`,
      );
    }
  } finally {
    await client.end();
  }
}
