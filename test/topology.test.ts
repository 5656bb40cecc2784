/**
 * The topology spec is the one place a database's key, folder, schema and
 * graphile-migrate file are written; what is derived from it must agree with
 * the files on disk.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import JSON5 from "json5";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../src/config.ts";
import { DATABASE_SPECS, databaseFiles } from "../src/topology.ts";

test.each(DATABASE_SPECS.map((d) => [d.key, d]))("%s: its graphile-migrate file, migrations, queries and pgTAP folders are where the spec says", (_key, spec) => {
  const gmrc = JSON5.parse(readFileSync(path.join(PROJECT_ROOT, spec.migrateConfig), "utf8")) as { migrationsFolder: string };
  // Kept in the file for running graphile-migrate by hand; the project passes the spec's folder.
  expect(path.normalize(gmrc.migrationsFolder)).toBe(path.normalize(databaseFiles(spec).migrations));
  for (const folder of Object.values(databaseFiles(spec))) expect(existsSync(path.join(PROJECT_ROOT, folder)), folder).toBe(true);
});

test("database keys, folders and schemas are unique", () => {
  for (const field of ["key", "folder", "schema", "migrateConfig"] as const) {
    expect(new Set(DATABASE_SPECS.map((d) => d[field])).size, field).toBe(DATABASE_SPECS.length);
  }
});
