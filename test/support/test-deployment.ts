/**
 * What the global setup hands to every test file: the URLs of the deployment
 * under test (see global-setup.ts).
 */
import { inject } from "vitest";
import { resolveTopology, type DatabaseKey, type Topology } from "../../src/topology.ts";

export interface TestDatabase {
  name: string;
  /** Authenticator login, as the API connects. */
  apiUrl: string;
  /** Owner login, as migrations connect. */
  migrationUrl: string;
}

export interface TestDeployment {
  /** Superuser login to the server's maintenance database. */
  adminUrl: string;
  prefix: string;
  serverKind: "embedded" | "external";
  databases: Record<DatabaseKey, TestDatabase>;
}

export function testDeployment(): TestDeployment & { topology: Topology; adminUrlFor(key: DatabaseKey): string } {
  const deployment = inject("deployment");
  return {
    ...deployment,
    topology: resolveTopology(deployment.prefix),
    adminUrlFor(key) {
      const url = new URL(deployment.adminUrl);
      url.pathname = `/${deployment.databases[key].name}`;
      return url.toString();
    },
  };
}
