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
