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
  expect(readFileSync(path.join(PROJECT_ROOT, ".squawk.toml"), "utf8")).toMatch(/excluded_rules = \["require-lock-timeout", "require-statement-timeout"\]/);
});
