/**
 * A thin pgTAP runner: sends one SQL test file to PostgreSQL, collects the TAP
 * lines its assertions return, and parses them so each assertion can become a
 * vitest test. Role names reach test files through the same placeholders as
 * migrations (:DATABASE_AUTHENTICATED, ...), and the database's schema as
 * :DATABASE_SCHEMA. The files are test/db/<folder>/*.sql for each database,
 * and test/db/both/*.sql for every database.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { DATABASE_SPECS, type DatabaseKey, type Topology } from "../../src/topology.ts";

const DB_TESTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "db");
const BOTH = "both";

export interface PgtapFile {
  key: DatabaseKey;
  /** The file's name, e.g. 02_isolation.sql. */
  name: string;
  /** folder/name, e.g. user_data/03_isolation.sql or both/05_current_user_id.sql. */
  label: string;
  path: string;
  placeholders: Record<string, string>;
}

/** Every pgTAP file to run, per database, in name order (each database's own and the shared ones mixed). */
export function pgtapFiles(topology: Topology): PgtapFile[] {
  const sqlIn = (folder: string) => readdirSync(path.join(DB_TESTS, folder)).filter((f) => f.endsWith(".sql"));
  return DATABASE_SPECS.flatMap(({ key, folder, schema }) => {
    const placeholders = { ...topology.placeholders(), ":DATABASE_SCHEMA": schema };
    return [...sqlIn(folder).map((name) => ({ folder, name })), ...sqlIn(BOTH).map((name) => ({ folder: BOTH, name }))]
      .sort((a, b) => a.name.localeCompare(b.name) || a.folder.localeCompare(b.folder))
      .map(({ folder: f, name }) => ({ key, name, label: `${f === BOTH ? `${BOTH} (${folder})` : f}/${name}`, path: path.join(DB_TESTS, f, name), placeholders }));
  });
}

export interface TapAssertion {
  number: number;
  ok: boolean;
  description: string;
  /** TODO assertions may fail without failing the run; SKIP ones did not run. */
  directive: "TODO" | "SKIP" | undefined;
  diagnostics: string[];
}

export interface TapReport {
  plan: number | undefined;
  assertions: TapAssertion[];
  /** Comment lines outside any assertion (e.g. finish()'s summary). */
  comments: string[];
  /** Set when the file did not run to completion. */
  error: string | undefined;
}

const ASSERTION = /^(not )?ok (\d+)(?: - ?(.*?))?(?:\s+#\s*(TODO|SKIP)\b.*)?$/i;
const PLAN = /^1\.\.(\d+)/;

export function parseTap(lines: readonly string[]): Omit<TapReport, "error"> {
  const report: Omit<TapReport, "error"> = { plan: undefined, assertions: [], comments: [] };
  let last: TapAssertion | undefined;
  for (const line of lines) {
    const assertion = ASSERTION.exec(line);
    const plan = PLAN.exec(line);
    if (assertion) {
      last = {
        number: Number(assertion[2]),
        ok: !assertion[1],
        description: assertion[3]?.trim() ?? "",
        directive: assertion[4]?.toUpperCase() as TapAssertion["directive"],
        diagnostics: [],
      };
      report.assertions.push(last);
    } else if (plan) {
      report.plan = Number(plan[1]);
    } else if (line.startsWith("#")) {
      const text = line.replace(/^#\s?/, "");
      // Diagnostics follow the assertion they explain, indented; anything else is a general comment.
      if (last && !last.ok && /^\s/.test(text)) last.diagnostics.push(text);
      else if (last && !last.ok && /^Failed/.test(text)) last.diagnostics.push(text);
      else report.comments.push(text);
    }
  }
  return report;
}

/** Replaces :DATABASE_* placeholders; an unknown one is an error, not a silent pass-through. */
export function fillPlaceholders(sql: string, placeholders: Record<string, string>): string {
  return sql.replace(/:DATABASE_[A-Z][A-Z0-9_]*/g, (name) => {
    const value = placeholders[name];
    if (value === undefined) throw new Error(`unknown placeholder ${name}`);
    return value;
  });
}

function lineOf(sql: string, position: string | undefined): string {
  if (!position) return "";
  return ` (line ${sql.slice(0, Number(position)).split("\n").length})`;
}

/**
 * Runs one test file in a single session at `url` and returns what it reported.
 * A `prelude` runs first in the same transaction (the file's own `begin` is then
 * a no-op), so its changes are rolled back with the file's.
 */
export async function runPgtapFile(
  url: string,
  file: string,
  placeholders: Record<string, string>,
  prelude?: string,
): Promise<TapReport> {
  const body = fillPlaceholders(readFileSync(file, "utf8"), placeholders);
  // One file at a time per database: the suite and its teeth test (which alters policies
  // inside its transaction, taking exclusive locks) would otherwise deadlock on the rows
  // and tables two concurrent runs of the same fixtures both touch. The file's own
  // `begin` then finds the transaction open, and the lock ends with its rollback.
  const sql = `begin;\nselect pg_advisory_xact_lock(hashtext('alwrity pgTAP files'));\n${prelude ? `${prelude};\n` : ""}${body}`;
  // pgTAP lives in its own schema (see pgtap.ts); the files call it unqualified.
  const client = new pg.Client({ connectionString: url, options: "-c search_path=tap,public" });
  await client.connect();
  const lines: string[] = [];
  let error: string | undefined;
  try {
    // Simple-query protocol: the whole file in one round trip, results in statement order.
    const results = (await client.query(sql)) as unknown as pg.QueryResult | pg.QueryResult[];
    for (const result of Array.isArray(results) ? results : [results]) {
      for (const row of result.rows ?? []) {
        for (const value of Object.values(row)) {
          if (typeof value === "string") lines.push(...value.split("\n"));
        }
      }
    }
  } catch (e) {
    const err = e as pg.DatabaseError;
    error = `${err.message}${lineOf(sql, err.position)}${err.detail ? `\n${err.detail}` : ""}${err.where ? `\n${err.where}` : ""}`;
    await client.query("rollback").catch(() => undefined);
  } finally {
    await client.end();
  }
  return { ...parseTap(lines), error };
}
