/**
 * Database service API objects for tests. `sharedDatabases` talks to the test
 * deployment itself, for tests that only read. `ownDeployment` provisions and
 * migrates a deployment of its own (a fresh prefix on the test server), for
 * tests that commit data: the pgTAP suites running beside them count rows and
 * must not see it. It is dropped again afterwards.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { PoolSettings } from "../../src/config.ts";
import { createDatabases, type Databases, type DatabasesOptions } from "../../src/db/databases.ts";
import type { DatabaseEndpoints, Deployment } from "../../src/bootstrap/deployment.ts";
import { openMigratedDeployment } from "../../src/bootstrap/migrations.ts";
import { deprovision } from "../../src/bootstrap/provision.ts";
import { loadConfig } from "../../src/config.ts";
import { findOrCreateUser } from "../../src/services/accounts.ts";
import { testDeployment } from "./test-deployment.ts";

export const POOL: PoolSettings = { size: 2, maxOverflow: 0, timeoutMs: 5_000, recycleSeconds: 0 };

export type Endpoints = Pick<Deployment, "topology" | "platform" | "userData">;

/** Configuration (environment variables) pointing at the shared test deployment's databases by URL. */
export function deploymentEnv(): Record<string, string> {
  const d = testDeployment();
  return {
    ENVIRONMENT: "test",
    DATABASE_ENV_PREFIX: d.prefix,
    PLATFORM_DATABASE_URL: d.databases.platform.apiUrl,
    USER_DATA_DATABASE_URL: d.databases.userData.apiUrl,
    PLATFORM_MIGRATION_DATABASE_URL: d.databases.platform.migrationUrl,
    USER_DATA_MIGRATION_DATABASE_URL: d.databases.userData.migrationUrl,
    // Any free port, so a test never collides with a developer's running server.
    PORT: "0",
  };
}

/** Configuration (environment variables) pointing at a deployment's databases by URL. */
export function endpointsEnv(e: Endpoints): Record<string, string> {
  return {
    ENVIRONMENT: "test",
    DATABASE_ENV_PREFIX: e.topology.prefix,
    PLATFORM_DATABASE_URL: e.platform.apiUrl,
    USER_DATA_DATABASE_URL: e.userData.apiUrl,
    ...(e.platform.migrationUrl ? { PLATFORM_MIGRATION_DATABASE_URL: e.platform.migrationUrl } : {}),
    ...(e.userData.migrationUrl ? { USER_DATA_MIGRATION_DATABASE_URL: e.userData.migrationUrl } : {}),
    PORT: "0",
  };
}

/** The shared test deployment's endpoints. */
export function sharedEndpoints(): Endpoints {
  const d = testDeployment();
  const endpoint = (key: "platform" | "userData"): DatabaseEndpoints => ({ key, ...d.databases[key] });
  return { topology: d.topology, platform: endpoint("platform"), userData: endpoint("userData") };
}

export function databasesFor(endpoints: Endpoints, pool: Partial<PoolSettings> = {}, options: DatabasesOptions & { echo?: boolean } = {}): Databases {
  return createDatabases(endpoints, { pool: { ...POOL, ...pool }, echo: options.echo ?? false }, options);
}

/** A deployment of the test file's own, provisioned before its tests and dropped after them. */
export function ownDeployment(): () => Endpoints {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await openMigratedDeployment(
      loadConfig({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: testDeployment().adminUrl, DATABASE_ENV_PREFIX: `o${randomBytes(4).toString("hex")}` }),
    );
  });
  afterAll(async () => {
    if (deployment) await deprovision(deployment.adminUrl!, deployment.topology);
  });
  return () => {
    if (!deployment) throw new Error("ownDeployment() is ready inside tests only");
    return deployment;
  };
}

/** Registers a new user (through the platform admin, as the backend does) and returns their id. */
export async function newUser(databases: Databases): Promise<string> {
  const clerkId = `user_${randomUUID().replaceAll("-", "")}`;
  return (await databases.platform.withPlatformAdmin((admin) => findOrCreateUser(admin, { clerkId, email: `${clerkId}@example.com` }))).id;
}
