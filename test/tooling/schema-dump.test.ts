/**
 * generated/<folder>/schema.sql is each database's schema as it stands after
 * all migrations: it must match what the dump reads from the migrated test
 * databases (on PostgreSQL 18 and on 15 alike), or a reviewer reads a stale
 * schema (run `npm run generate:schema`).
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { dumpDatabase, dumpFile, DUMP_HEADER } from "../../src/tooling/schema-dump.ts";
import { DATABASE_SPECS } from "../../src/topology.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();

test.each(DATABASE_SPECS.map((d) => [d.folder, d]))("generated/%s/schema.sql is up to date (else: npm run generate:schema)", async (_folder, spec) => {
  const fresh = await dumpDatabase(deployment.adminUrlFor(spec.key), deployment.topology);
  const committed = readFileSync(dumpFile(spec), "utf8");
  expect(committed.startsWith(DUMP_HEADER)).toBe(true);
  expect(committed, `generated/${spec.folder}/schema.sql is stale: run npm run generate:schema`).toBe(fresh);
});

test("the dump shows what migrations put there, in placeholders, without the environment's prefix", () => {
  const text = readFileSync(dumpFile(DATABASE_SPECS[0]!), "utf8");
  expect(text).toContain("create policy");
  expect(text).toContain("CREATE OR REPLACE FUNCTION");
  expect(text).toContain(":DATABASE_AUTHENTICATED");
  expect(text).not.toMatch(/authenticated_users|alwrity_anonymous|alwrity_platform_admin|alwrity_authenticator/);
});

test.each(DATABASE_SPECS.map((d) => [d.folder, d]))("generated/%s/schema.sql shows each table with its indexes, triggers and policies, before the next table", (_folder, spec) => {
  const text = readFileSync(dumpFile(spec), "utf8");
  const tables = [...text.matchAll(/^create table (\S+) \(/gm)];
  expect(tables.length).toBeGreaterThan(3);
  const blocks = new Map(tables.map((m, i) => [m[1]!, text.slice(m.index, tables[i + 1]?.index ?? text.indexOf("\n-- views") >>> 0)]));
  const misplaced: string[] = [];
  for (const [kind, pattern] of [
    ["policy", /^create policy \S+ on (\S+) /gm],
    ["index", /^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?(\S+) /gm],
    ["trigger", /^CREATE (?:CONSTRAINT )?TRIGGER .*? ON (\S+) /gm],
  ] as const) {
    for (const m of text.matchAll(pattern)) {
      const block = blocks.get(m[1]!);
      if (block !== undefined && !block.includes(m[0])) misplaced.push(`${kind} on ${m[1]}: ${m[0]}`);
    }
  }
  expect(misplaced, "a table's index, trigger or policy printed away from the table").toEqual([]);
  expect(text.match(/^create policy /gm)?.length ?? 0, "every policy belongs to a table block").toBe(
    [...blocks.values()].reduce((n, b) => n + (b.match(/^create policy /gm)?.length ?? 0), 0),
  );
});
