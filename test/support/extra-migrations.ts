/**
 * A migrations folder of the test's own: a database's committed migrations copied
 * into a temporary folder, with migrations of the test appended after them, each
 * with the Previous/Hash headers graphile-migrate checks (made with its own hash
 * and serialiser). The project's db/<database>/migrations/committed is never
 * touched: a deploy test points the migrator at this folder instead.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
// graphile-migrate's own hash and file format, so the chain is exactly what `db:commit` would write.
import { calculateHash } from "graphile-migrate/dist/hash.js";
import { parseMigrationText, serializeMigration } from "graphile-migrate/dist/migration.js";
import { PROJECT_ROOT } from "../../src/config.ts";
import { databaseFiles } from "../../src/topology.ts";

export interface ExtraMigrations {
  /** The folder to give the migrator (it holds committed/). */
  readonly folder: string;
  /** The file names of the appended migrations, in order. */
  readonly files: readonly string[];
  remove(): void;
}

export function migrationsWithExtra(databaseFolder: string, bodies: readonly string[]): ExtraMigrations {
  const source = path.join(PROJECT_ROOT, databaseFiles({ folder: databaseFolder }).committed);
  const folder = mkdtempSync(path.join(tmpdir(), `alwrity-migrations-${databaseFolder}-`));
  const committed = path.join(folder, "committed");
  mkdirSync(committed);
  const existing = readdirSync(source).filter((f) => /^\d{6}\.sql$/.test(f)).sort();
  for (const f of existing) copyFileSync(path.join(source, f), path.join(committed, f));
  const last = existing.at(-1)!;
  let previous = parseMigrationText(path.join(source, last), readFileSync(path.join(source, last), "utf8")).headers.Hash as string;
  let number = Number(last.slice(0, 6));
  const files: string[] = [];
  for (const body of bodies) {
    number += 1;
    const file = `${String(number).padStart(6, "0")}.sql`;
    const text = (hash: string) => serializeMigration(body, { Previous: previous, Hash: hash });
    // The hash is of the body as graphile-migrate reads it back from the file.
    const parsed = parseMigrationText(file, text("x")).body;
    const hash = calculateHash(parsed, previous);
    writeFileSync(path.join(committed, file), text(hash));
    files.push(file);
    previous = hash;
  }
  return { folder, files, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
