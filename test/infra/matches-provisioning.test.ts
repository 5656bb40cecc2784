/**
 * The Pulumi program and local provisioning build the same server. Local
 * provisioning (src/provision) runs for real on the test deployment's server,
 * under a prefix of its own; the program runs under mocks with that prefix.
 * The catalog must hold exactly what the program's resources declare, so a
 * role changed on one side only fails here.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { deprovision, provision } from "../../src/bootstrap/provision.ts";
import { resolveTopology } from "../../src/topology.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { catalogShape, declaredShape } from "./support/catalog-shape.ts";
import { runProgram, type ProgramRun } from "./support/run-program.ts";

const { adminUrl } = testDeployment();
const prefix = `x${randomBytes(3).toString("hex")}`;
const topology = resolveTopology(prefix);
let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram("crosscheck", { host: "localhost", adminPassword: "unused", envPrefix: prefix }, ["adminPassword"]);
  await provision(adminUrl, topology, { owner: "owner-pw", authenticator: "authenticator-pw" });
});

afterAll(async () => {
  await deprovision(adminUrl, topology);
});

test("the program declares what it should, so the comparison below is not empty", () => {
  const declared = declaredShape(run.resources);
  expect(declared.roles.map((r) => r.name)).toEqual(topology.roles.map((r) => r.name).sort());
  expect(declared.databases.map((d) => d.name)).toEqual(topology.databases.map((d) => d.name).sort());
});

test("local provisioning gives the server exactly the roles, attributes, memberships and settings the program declares", async () => {
  expect((await catalogShape(adminUrl, prefix)).roles).toEqual(declaredShape(run.resources).roles);
});

test("local provisioning gives the databases exactly the owner, encoding, privileges and extensions the program declares", async () => {
  expect((await catalogShape(adminUrl, prefix)).databases).toEqual(declaredShape(run.resources).databases);
});
