/**
 * initDatabases (the seed's init_databases): makes the configured databases
 * ready (embedded server started, provisioned where the project provisions,
 * migrated) and returns the database service API over them. Idempotent, so it
 * is safe on every start; close() also stops what it started.
 */
import type { Config } from "../config.ts";
import { createDatabases, type Databases, type DatabasesOptions } from "../db/databases.ts";
import type { Deployment } from "./deployment.ts";
import { openMigratedDeployment } from "./migrations.ts";

export interface InitializedDatabases extends Databases {
  readonly deployment: Deployment;
}

export async function initDatabases(config: Config, options: Omit<DatabasesOptions, "onClose"> = {}): Promise<InitializedDatabases> {
  const deployment = await openMigratedDeployment(config);
  return { ...createDatabases(deployment, config, { ...options, onClose: () => deployment.close() }), deployment };
}
