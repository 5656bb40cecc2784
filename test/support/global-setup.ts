/**
 * Once per `npm test`: a deployment to test against. By default a throw-away
 * embedded PostgreSQL 18; with DATABASE_ADMIN_URL, the server it points at,
 * where this run provisions databases and roles under a unique prefix and
 * drops them all afterwards. Both databases are migrated and get pgTAP
 * (see pgtap.ts).
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { loadConfig } from "../../src/config.ts";
import { openDeployment, withLogin } from "../../src/bootstrap/deployment.ts";
import { migrateAll } from "../../src/bootstrap/migrations.ts";
import { deprovision } from "../../src/bootstrap/provision.ts";
import { installPgtap, pgtapScriptPath } from "./pgtap.ts";
import type { TestDeployment } from "./test-deployment.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = Boolean(process.env.DATABASE_ADMIN_URL);
  const config = loadConfig({
    ENVIRONMENT: "test",
    DATABASE_ADMIN_URL: process.env.DATABASE_ADMIN_URL,
    // Unique names per run, so runs can share a server and leave nothing behind.
    DATABASE_ENV_PREFIX: external ? `t${randomBytes(4).toString("hex")}` : "",
  });
  // Before any server starts: a missing pgTAP is reported at once, with what to do.
  const pgtapScript = pgtapScriptPath();
  const deployment = await openDeployment(config);
  try {
    await migrateAll(deployment);
    const adminUrl = deployment.adminUrl!;
    for (const db of deployment.topology.databases) await installPgtap(withLogin(adminUrl, ...adminLogin(adminUrl), db.name), pgtapScript, deployment.topology);
  } catch (error) {
    await teardown();
    throw error;
  }

  const provided: TestDeployment = {
    adminUrl: deployment.adminUrl!,
    prefix: deployment.topology.prefix,
    serverKind: external ? "external" : "embedded",
    databases: {
      platform: { name: deployment.platform.name, apiUrl: deployment.platform.apiUrl, migrationUrl: deployment.platform.migrationUrl! },
      userData: { name: deployment.userData.name, apiUrl: deployment.userData.apiUrl, migrationUrl: deployment.userData.migrationUrl! },
    },
  };
  project.provide("deployment", provided);

  async function teardown(): Promise<void> {
    if (external) await deprovision(deployment.adminUrl!, deployment.topology);
    await deployment.close();
  }
  return teardown;
}

function adminLogin(url: string): [string, string] {
  const u = new URL(url);
  return [decodeURIComponent(u.username), decodeURIComponent(u.password)];
}

declare module "vitest" {
  export interface ProvidedContext {
    deployment: TestDeployment;
  }
}
