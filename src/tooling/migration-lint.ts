/**
 * The migration lint: squawk (the squawk-cli npm package, which ships its
 * binary) reads every committed migration, and current.sql, for statements
 * that would lock or rewrite a live table: index builds without CONCURRENTLY,
 * table rewrites, risky drops; our own checks (migration-checks.ts) add what
 * squawk lacks (a serial column added to a table, SET NOT NULL without a
 * validated check). Rules off for every migration are in
 * .squawk.toml with their reasons. A finding fails unless it is excused, either
 * by db/migration-lint-exceptions.json5 (migrations committed before the lint)
 * or by a `-- squawk-ignore <rule>` comment in the migration itself, which must
 * have a `-- reason: …` line just above it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import JSON5 from "json5";
import { PROJECT_ROOT } from "../config.ts";
import { DATABASE_SPECS, databaseFiles } from "../topology.ts";
import { OWN_RULES, checkMigration } from "./migration-checks.ts";

// The binary package of squawk-cli for this platform, named directly: the registry these
// machines reach lacks the other platforms' packages, so `squawk-cli` itself (which lists
// them all) would leave a lock file `npm ci` refuses. Linux x64 only, as an optional
// dependency; elsewhere, install @squawk-cli/<platform>-<arch> of the same version.
const SQUAWK = path.join(PROJECT_ROOT, "node_modules", "@squawk-cli", `${process.platform}-${process.arch}`, "bin", "squawk");
export const EXCEPTIONS_FILE = path.join(PROJECT_ROOT, "db", "migration-lint-exceptions.json5");

export interface Finding {
  /** `<folder>/<file>`, e.g. user_data/000005.sql. */
  readonly migration: string;
  readonly rule: string;
  readonly line: number;
  readonly message: string;
}

export interface LintException {
  readonly migration: string;
  readonly rule: string;
  readonly count: number;
  readonly reason: string;
}

export interface LintReport {
  /** Findings no exception excuses. */
  readonly failures: readonly Finding[];
  /** Exceptions that excuse nothing any more, or whose count is wrong: each a sentence. */
  readonly staleExceptions: readonly string[];
  /** Inline `squawk-ignore` comments without a `-- reason:` line above. */
  readonly unreasonedIgnores: readonly string[];
  /** How many files were linted. */
  readonly files: number;
}

/** Every migration file to lint: the committed ones and a non-empty current.sql. */
export function migrationFiles(): { migration: string; file: string }[] {
  return DATABASE_SPECS.flatMap((spec) => {
    const files = databaseFiles(spec);
    const committed = readdirSync(path.join(PROJECT_ROOT, files.committed))
      .filter((f) => f.endsWith(".sql"))
      .sort()
      .map((f) => ({ migration: `${spec.folder}/${f}`, file: path.join(PROJECT_ROOT, files.committed, f) }));
    const current = path.join(PROJECT_ROOT, files.current);
    const hasCurrent = existsSync(current) && stripComments(readFileSync(current, "utf8")).trim() !== "";
    return hasCurrent ? [...committed, { migration: `${spec.folder}/current.sql`, file: current }] : committed;
  });
}

function stripComments(sql: string): string {
  return sql.replace(/--.*$/gm, "");
}

/**
 * Runs squawk and our own checks (migration-checks.ts) on one migration's text; graphile-migrate
 * runs it in a transaction unless it says `--! no-transaction`. `earlier`: the same database's
 * migrations before it, in order (a check constraint validated there lets a SET NOT NULL through).
 */
export function lintSql(migration: string, sql: string, earlier: readonly string[] = []): Finding[] {
  // squawk's parser does not know graphile-migrate's :PLACEHOLDER role names.
  // Nor our own rules' names in squawk-ignore comments (it would call them unused ignores).
  const text = sql
    .replace(/:DATABASE_[A-Z_]+/g, "placeholder_role")
    .replace(/^(\s*--\s*squawk-ignore\b)(.*)$/gm, (_, head: string, rules: string) => {
      const theirs = rules.split(/[\s,]+/).filter((r) => r && !(r in OWN_RULES));
      return theirs.length ? `${head} ${theirs.join(", ")}` : "--";
    });
  const inTransaction = !/^--! no-transaction\b/m.test(sql);
  const args = ["--config", path.join(PROJECT_ROOT, ".squawk.toml"), "--reporter", "json", "--stdin-filepath", migration, ...(inTransaction ? ["--assume-in-transaction"] : [])];
  const result = spawnSync(SQUAWK, args, { input: text, encoding: "utf8" });
  if (result.error) {
    throw new Error(`could not run squawk (${SQUAWK}): ${result.error.message}; run npm ci (on a platform other than linux-x64: npm install --no-save @squawk-cli/${process.platform}-${process.arch}@2.66.0)`);
  }
  let parsed: { line: number; rule_name: string; message: string }[];
  try {
    parsed = JSON.parse(result.stdout || "[]");
  } catch {
    throw new Error(`squawk failed on ${migration} (exit ${result.status}): ${(result.stderr || result.stdout).split("\n").slice(0, 3).join(" ")}`);
  }
  const own = checkMigration(sql, earlier).map((f) => ({ migration, ...f }));
  return [...parsed.map((f) => ({ migration, rule: f.rule_name, line: f.line + 1, message: f.message })), ...own];
}

/** Inline ignores need a reason: the line above `-- squawk-ignore …` must be `-- reason: …`. */
function unreasoned(migration: string, sql: string): string[] {
  const lines = sql.split("\n");
  return lines.flatMap((line, i) =>
    /^\s*--\s*squawk-ignore\b/.test(line) && !/^\s*--\s*reason:\s*\S/.test(lines[i - 1] ?? "") ? [`${migration}:${i + 1}: ${line.trim()} has no "-- reason: …" line above it`] : [],
  );
}

export function readExceptions(file = EXCEPTIONS_FILE): LintException[] {
  const list = JSON5.parse(readFileSync(file, "utf8")) as LintException[];
  for (const e of list) {
    if (!e.migration || !e.rule || !Number.isInteger(e.count) || e.count < 1 || !e.reason || e.reason.trim().length < 20) {
      throw new Error(`${path.relative(PROJECT_ROOT, file)}: every exception needs migration, rule, count (≥ 1) and a reason of a sentence: ${JSON.stringify(e)}`);
    }
  }
  return list;
}

/** Compares findings with exceptions: an exception excuses exactly `count` findings of its rule in its migration. */
export function judge(findings: readonly Finding[], exceptions: readonly LintException[]): Pick<LintReport, "failures" | "staleExceptions"> {
  const failures: Finding[] = [];
  const staleExceptions: string[] = [];
  const key = (migration: string, rule: string) => `${migration} ${rule}`;
  const groups = new Map<string, Finding[]>();
  for (const f of findings) groups.set(key(f.migration, f.rule), [...(groups.get(key(f.migration, f.rule)) ?? []), f]);
  const excused = new Map(exceptions.map((e) => [key(e.migration, e.rule), e]));
  for (const [k, group] of groups) {
    const exception = excused.get(k);
    if (!exception) failures.push(...group);
    else if (exception.count !== group.length) staleExceptions.push(`${k}: the exception excuses ${exception.count} finding(s), squawk reports ${group.length}`);
  }
  for (const [k, e] of excused) if (!groups.has(k)) staleExceptions.push(`${k}: no such finding any more (${e.reason.slice(0, 40)}…); remove the exception`);
  return { failures, staleExceptions };
}

export function lintMigrations(): LintReport {
  const files = migrationFiles();
  const findings: Finding[] = [];
  const unreasonedIgnores: string[] = [];
  const earlier = new Map<string, string[]>();
  for (const { migration, file } of files) {
    const sql = readFileSync(file, "utf8");
    const chain = earlier.get(migration.split("/")[0]!) ?? [];
    findings.push(...lintSql(migration, sql, chain));
    earlier.set(migration.split("/")[0]!, [...chain, sql]);
    unreasonedIgnores.push(...unreasoned(migration, sql));
  }
  return { ...judge(findings, readExceptions()), unreasonedIgnores, files: files.length };
}
