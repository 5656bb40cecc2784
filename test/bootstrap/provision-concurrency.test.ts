/**
 * Provisioning runs one at a time per deployment and server: a second run
 * while one holds the lock stops with a clear message (never PostgreSQL's raw
 * "duplicate key … pg_database_datname_index"), and two runs started together
 * end with one provisioned deployment and, at most, that message. An admin
 * server that cannot be reached is reported naming DATABASE_ADMIN_URL.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { deprovision, provision, ProvisioningBusyError } from "../../src/bootstrap/provision.ts";
import { resolveTopology } from "../../src/topology.ts";
import { unreachable } from "../support/closed-port.ts";
import { testDeployment } from "../support/test-deployment.ts";

const { adminUrl } = testDeployment();
const passwords = { owner: "owner-pw", authenticator: "authenticator-pw" };
const topologies = [resolveTopology(`q${randomBytes(3).toString("hex")}`), resolveTopology(`q${randomBytes(3).toString("hex")}`)];
afterAll(async () => {
  for (const topology of topologies) await deprovision(adminUrl, topology);
});

test("while another run holds the provisioning lock, provisioning stops with a clear message, and succeeds once it is free", async () => {
  const topology = topologies[0]!;
  const holder = new pg.Client(adminUrl);
  await holder.connect();
  try {
    await holder.query("select pg_advisory_lock(hashtext('alwrity provisioning'), hashtext($1))", [topology.prefix]);
    await expect(provision(adminUrl, topology, passwords)).rejects.toThrow(
      new ProvisioningBusyError(`another run is provisioning this deployment (prefix ${topology.prefix}) on the same server right now; let it finish, then run again`),
    );
  } finally {
    await holder.end();
  }
  await provision(adminUrl, topology, passwords);
});

test("two runs started together: the deployment is provisioned, and a run that lost says so", async () => {
  const topology = topologies[1]!;
  const results = await Promise.allSettled([provision(adminUrl, topology, passwords), provision(adminUrl, topology, passwords)]);
  expect(results.some((r) => r.status === "fulfilled")).toBe(true);
  for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ProvisioningBusyError);
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const { rows } = await client.query("select count(*)::int as n from pg_database where datname = any($1)", [topology.databases.map((d) => d.name)]);
    expect(rows[0].n).toBe(2);
  } finally {
    await client.end();
  }
});

test("an unreachable DATABASE_ADMIN_URL is named in the error, without its password", async () => {
  const url = new URL(await unreachable(adminUrl));
  url.password = "very-secret";
  const config = loadConfig({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: url.toString(), DATABASE_ENV_PREFIX: "qunreachable" });
  const failure = await openDeployment(config).then(
    () => undefined,
    (error: Error) => error,
  );
  expect(failure?.message).toMatch(new RegExp(`^cannot provision through DATABASE_ADMIN_URL \\(127\\.0\\.0\\.1:${url.port}, user \\w+\\): .*ECONNREFUSED`));
  expect(failure?.message).not.toContain("very-secret");
});
