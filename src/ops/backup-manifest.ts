/**
 * What a backup folder holds besides the table files: manifest.json, naming
 * each table's file with its SHA-256 and columns, the migrations applied when
 * it was taken, the sequences' values, and every table's row count and
 * checksum, read in the same snapshot as the rows. A restore checks the files against it before
 * anything else, and the restored tables against it afterwards.
 */
import pg from "pg";
import type { DatabaseKey } from "../topology.ts";
import { readAppliedMigrations } from "../db/migration-state.ts";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT = "alwrity-backup/2";

export interface AppliedMigration {
  readonly filename: string;
  readonly hash: string;
}

export interface TableFingerprint {
  /** Schema-qualified, quoted as needed. */
  readonly table: string;
  readonly rows: number;
  /** The sum over its rows of the first 60 bits of md5(row as text): independent of row order. */
  readonly checksum: string;
}

/** One table's rows in the backup: a gzipped COPY text file, with the columns in its order. */
export interface TableBackup extends TableFingerprint {
  /** Relative to the backup folder. */
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Quoted column names, generated columns left out (the restore computes them again). */
  readonly columns: readonly string[];
}

export interface SequenceValue {
  readonly sequence: string;
  /** null: never used (nextval not yet called). */
  readonly lastValue: string | null;
}

export interface DatabaseBackup {
  readonly name: string;
  /** The folder of its table files, relative to the backup folder. */
  readonly folder: string;
  readonly bytes: number;
  readonly migrations: readonly AppliedMigration[];
  /** graphile-worker's own migration (the job queue's schema version), platform database only. */
  readonly jobQueueMigration: number | null;
  readonly sequences: readonly SequenceValue[];
  readonly tables: readonly TableBackup[];
}

export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly createdAt: string;
  /** The deployment's prefix ("" for none). */
  readonly prefix: string;
  readonly server: { readonly version: string; readonly major: number };
  readonly copy: { readonly format: "text"; readonly compression: "gzip" };
  readonly databases: Record<DatabaseKey, DatabaseBackup>;
}

/**
 * Schemas whose rows are not backed up: graphile-migrate's bookkeeping is
 * written by the restore's own migration run (and compared with the
 * manifest instead). graphile-worker's `migrations` table likewise.
 */
export const NOT_BACKED_UP = { schemas: ["graphile_migrate"], tables: ["graphile_worker.migrations"] } as const;

/**
 * Row text depends on these settings; both sides of a comparison read with
 * the same ones.
 */
export const STABLE_TEXT = "set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'postgres'; set extra_float_digits = 1; set bytea_output = 'hex'";

/** The ordinary tables (partitions included, their parents not) whose rows a backup holds. */
export async function tablesBackedUp(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ table: string }>(
    `select format('%I.%I', n.nspname, c.relname) as table
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname <> all ($1::text[]) and n.nspname not in ('information_schema') and n.nspname !~ '^pg_'
        and format('%s.%s', n.nspname, c.relname) <> all ($2::text[])
      order by 1`,
    [NOT_BACKED_UP.schemas, NOT_BACKED_UP.tables],
  );
  return rows.map((r) => r.table);
}

/** Row counts and checksums of every backed-up table, read by `client` (which must see every row: a superuser). */
export async function fingerprintTables(client: pg.ClientBase): Promise<TableFingerprint[]> {
  await client.query(STABLE_TEXT);
  const fingerprints: TableFingerprint[] = [];
  for (const table of await tablesBackedUp(client)) {
    const { rows } = await client.query<{ rows: string; checksum: string }>(
      `select count(*) as rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text as checksum from ${table} t`,
    );
    fingerprints.push({ table, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum });
  }
  return fingerprints;
}

/** A table's columns in order, quoted, without generated ones (COPY cannot write those). */
export async function tableColumns(client: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    "select quote_ident(attname) as name from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = '' order by attnum",
    [table],
  );
  return rows.map((r) => r.name);
}

/** Every sequence's last value outside the schemas not backed up (identity columns' too). */
export async function sequenceValues(client: pg.ClientBase): Promise<SequenceValue[]> {
  const { rows } = await client.query<SequenceValue>(
    `select format('%I.%I', schemaname, sequencename) as sequence, last_value::text as "lastValue" from pg_sequences
      where schemaname <> all ($1::text[]) order by 1`,
    [NOT_BACKED_UP.schemas],
  );
  return rows;
}

/** The migrations graphile-migrate has applied to one database (its folder names it), oldest first. */
export async function appliedMigrations(client: pg.ClientBase, folder: string, inTransaction: boolean): Promise<AppliedMigration[]> {
  return readAppliedMigrations<AppliedMigration>((sql, values) => client.query(sql, values), folder, "filename, hash", inTransaction);
}

/** graphile-worker's newest applied migration, or null where the job queue is not installed. */
export async function jobQueueMigration(client: pg.ClientBase): Promise<number | null> {
  const { rows } = await client.query<{ present: boolean }>("select to_regclass('graphile_worker.migrations') is not null as present");
  if (!rows[0]!.present) return null;
  const latest = await client.query<{ id: number | null }>("select max(id) as id from graphile_worker.migrations");
  return latest.rows[0]!.id;
}

/** "<what>: <a> differs from <b>" lines for two fingerprint lists; empty when equal. */
export function fingerprintDifferences(expected: readonly TableFingerprint[], actual: readonly TableFingerprint[]): string[] {
  const byName = new Map(actual.map((t) => [t.table, t]));
  const problems: string[] = [];
  for (const want of expected) {
    const got = byName.get(want.table);
    if (!got) problems.push(`${want.table}: missing`);
    else if (got.rows !== want.rows) problems.push(`${want.table}: ${got.rows} rows, the backup has ${want.rows}`);
    else if (got.checksum !== want.checksum) problems.push(`${want.table}: the rows differ from the backup's (checksum)`);
    byName.delete(want.table);
  }
  for (const extra of byName.values()) if (extra.rows > 0) problems.push(`${extra.table}: ${extra.rows} rows in a table the backup does not have`);
  return problems;
}
