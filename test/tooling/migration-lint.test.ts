/**
 * Migrations that cannot lock production: every committed migration (and
 * current.sql) passes squawk, except for findings a reviewed exception names;
 * and the lint really catches what it is for.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import JSON5 from "json5";
import { expect, test } from "vitest";
import { judge, lintMigrations, lintSql, readExceptions } from "../../src/tooling/migration-lint.ts";
import { PROJECT_ROOT } from "../../src/config.ts";
import { DATABASE_SPECS } from "../../src/topology.ts";

test("every migration passes the lint, or carries a reviewed exception that matches exactly", () => {
  const report = lintMigrations();
  expect(report.files).toBeGreaterThanOrEqual(9);
  expect(report.failures.map((f) => `${f.migration}:${f.line} ${f.rule}`)).toEqual([]);
  expect(report.staleExceptions).toEqual([]);
  expect(report.unreasonedIgnores).toEqual([]);
});

const rules = (sql: string) => lintSql("platform/9999.sql", sql).map((f) => f.rule);

test("a blocking index build on an existing table is a finding; CONCURRENTLY in a --! no-transaction migration is not", () => {
  expect(rules("create index users_email_idx on platform.users (email);")).toContain("require-concurrent-index-creation");
  expect(rules("--! no-transaction\ncreate index concurrently if not exists users_email_idx on platform.users (email);")).toEqual([]);
});

test("a table rewrite and a column drop are findings", () => {
  expect(rules("alter table platform.usage alter column tokens type bigint;")).toContain("changing-column-type");
  expect(rules("alter table platform.users add column plan_id uuid not null;")).toContain("adding-required-field");
});

test("an inline squawk-ignore excuses its statement only with a reason line above it", () => {
  const sql = "-- reason: the table is created empty in this very release\n-- squawk-ignore require-concurrent-index-creation\ncreate index users_email_idx on platform.users (email);\n";
  expect(rules(sql)).toEqual([]);
});

test("an exception excuses exactly its count: one finding more, or one fewer, fails", () => {
  const finding = { migration: "platform/9999.sql", rule: "ban-drop-column", line: 1, message: "" };
  const exception = { migration: "platform/9999.sql", rule: "ban-drop-column", count: 1, reason: "a reviewed reason, long enough" };
  expect(judge([finding], [exception])).toEqual({ failures: [], staleExceptions: [] });
  expect(judge([finding], []).failures).toEqual([finding]);
  expect(judge([finding, finding], [exception]).staleExceptions).toHaveLength(1);
  expect(judge([], [exception]).staleExceptions).toHaveLength(1);
  expect(readExceptions().every((e) => e.reason.length >= 20)).toBe(true);
});

test("lock_timeout, which the lint takes for granted (.squawk.toml), is set for every database's migrations", () => {
  for (const spec of DATABASE_SPECS) {
    const settings = JSON5.parse(readFileSync(path.join(PROJECT_ROOT, spec.migrateConfig), "utf8")) as { pgSettings?: Record<string, string> };
    expect(settings.pgSettings?.lock_timeout, spec.migrateConfig).toMatch(/^\d+(ms|s)$/);
  }
  expect(readFileSync(path.join(PROJECT_ROOT, ".squawk.toml"), "utf8")).toMatch(/excluded_rules = \["require-lock-timeout", "require-statement-timeout", "adding-not-nullable-field"\]/);
});

// The unsafe forms of changing a column the API exposes (docs/migrations.md, "Changing a column the API exposes").
const A = "user_data.user_content_assets";

test("a volatile default on an existing table is refused: a function call, an identity, and a serial (our own check: squawk takes it for a type question)", () => {
  expect(rules(`alter table ${A} add column token uuid default gen_random_uuid();`)).toContain("adding-field-with-default");
  expect(rules(`alter table ${A} add column seen timestamptz default clock_timestamp();`)).toContain("adding-field-with-default");
  expect(rules(`alter table ${A} add column n bigint generated always as identity;`)).toContain("adding-field-with-default");
  expect(rules(`alter table ${A} add column n bigserial;`)).toContain("adding-serial-column");
  expect(rules(`alter table ${A} add column if not exists n serial4;`)).toContain("adding-serial-column");
  // A constant or a stable default does not rewrite the table; a serial on a table made in the same migration has no rows to rewrite.
  expect(rules(`alter table ${A} add column word_count integer;`).filter((r) => r !== "prefer-bigint-over-int")).toEqual([]);
  expect(rules(`alter table ${A} add column reviewed boolean not null default false;`)).toEqual([]);
  expect(rules("create table platform.t (a text);\nalter table platform.t add column n bigserial;")).not.toContain("adding-serial-column");
});

test("a non-concurrent index on an existing table is refused, in a transaction or not; CONCURRENTLY needs --! no-transaction (our own check)", () => {
  expect(rules(`create index assets_words_idx on ${A} (user_id, word_count);`)).toContain("require-concurrent-index-creation");
  expect(rules(`--! no-transaction\ncreate unique index assets_words_idx on ${A} (user_id, word_count);`)).toContain("require-concurrent-index-creation");
  expect(rules(`create index concurrently assets_words_idx on ${A} (user_id, word_count);`)).toContain("concurrently-in-transaction");
  expect(rules(`--! no-transaction\ncreate index concurrently if not exists assets_words_idx on ${A} (user_id, word_count);`)).toEqual([]);
});

test("SET NOT NULL is refused unless a CHECK (column IS NOT NULL) was validated before it (our own check)", () => {
  const setNotNull = `alter table ${A} alter column word_count set not null;`;
  const addCheck = `alter table ${A} add constraint word_count_not_null check (word_count is not null) not valid;`;
  const validate = `alter table ${A} validate constraint word_count_not_null;`;
  expect(rules(setNotNull)).toEqual(["set-not-null-without-validated-check"]);
  // Added NOT VALID but never validated: still a full scan.
  expect(lintSql("user_data/9999.sql", setNotNull, [addCheck]).map((f) => f.rule)).toEqual(["set-not-null-without-validated-check"]);
  // A check on another column does not prove this one.
  expect(lintSql("user_data/9999.sql", setNotNull, [addCheck.replace("(word_count is", "(title is"), validate]).map((f) => f.rule)).toEqual(["set-not-null-without-validated-check"]);
  // The safe form: the check added NOT VALID in one migration, validated in the next (or earlier in the same one), then SET NOT NULL.
  expect(lintSql("user_data/9999.sql", setNotNull, [addCheck, validate])).toEqual([]);
  expect(lintSql("user_data/9999.sql", `${validate}\n${setNotNull}`, [addCheck])).toEqual([]);
  // Adding and validating in one transaction holds ACCESS EXCLUSIVE for the scan: squawk refuses that.
  expect(rules(`${addCheck}\n${validate}\n${setNotNull}`)).toContain("constraint-missing-not-valid");
});

test("our own checks are excused like squawk's: squawk-ignore on the line above, with a reason", () => {
  const sql = `-- reason: the table holds a handful of rows, written by migrations only\n-- squawk-ignore set-not-null-without-validated-check\nalter table ${A} alter column word_count set not null;`;
  expect(rules(sql)).toEqual([]);
});

test("the example pair of docs/migrations.md passes the lint, step by step", () => {
  const docs = readFileSync(path.join(PROJECT_ROOT, "docs", "migrations.md"), "utf8");
  const steps = [...docs.matchAll(/```sql\n-- expand\/contract step (\d+)[^\n]*\n([\s\S]*?)```/g)].map((m) => m[2]!);
  expect(steps.length).toBeGreaterThanOrEqual(4);
  for (const [i, sql] of steps.entries()) expect(lintSql(`user_data/step-${i + 1}.sql`, sql, steps.slice(0, i)), `step ${i + 1}`).toEqual([]);
});
