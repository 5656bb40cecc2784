/**
 * The production example stack (Pulumi.production.example.yaml), run under
 * mocks: what it configures, and what a production stack gets on top.
 */
import { beforeAll, expect, test } from "vitest";
import { resolveTopology } from "../../src/topology.ts";
import { runProgram, TYPES, valueOf, type ProgramRun } from "./support/run-program.ts";
import { readStackConfig } from "./support/stack-file.ts";

const stackConfig = readStackConfig("Pulumi.production.example.yaml");
let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram("production", { ...stackConfig, adminPassword: "admin-secret" }, ["adminPassword"]);
});

test("production databases are protected, and kept on the server even if removed from the program", () => {
  const databases = run.ofType(TYPES.database);
  expect(databases.map((d) => d.inputs.name).sort()).toEqual(resolveTopology(stackConfig.envPrefix).databases.map((d) => d.name).sort());
  for (const db of databases) expect({ name: db.name, protect: db.protect, retainOnDelete: db.retainOnDelete }).toEqual({ name: db.name, protect: true, retainOnDelete: true });
});

test("production roles and their passwords are protected too: replacing one would cut the app off", () => {
  const stateful = [...run.ofType(TYPES.role), ...run.ofType(TYPES.password)];
  expect(stateful.length).toBeGreaterThan(0);
  for (const r of stateful) expect(r.protect, r.name).toBe(true);
});

test("the example targets a managed service: no superuser assumed, TLS required", () => {
  const [provider] = run.ofType(TYPES.provider);
  expect(provider?.inputs).toMatchObject({ superuser: "false", sslmode: "require" });
});

test("the app's URLs ask for TLS as the stack does", async () => {
  const url = new URL(await valueOf(run.outputs.PLATFORM_DATABASE_URL));
  expect(url.searchParams.get("sslmode")).toBe("require");
  expect(url.hostname).toBe(stackConfig.host);
});
