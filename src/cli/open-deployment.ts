/**
 * What a command needs, opened for it and closed after it, whatever happens:
 * the configured deployment (starting the embedded server when no database is
 * configured; never provisioning), and for most commands the Databases on it.
 * Every `alwrity` command that reads or acts on data comes through here.
 */
import { loadConfig, type Config } from "../config.ts";
import { createDatabases, type Databases } from "../db/databases.ts";
import { openDeployment, type Deployment } from "../bootstrap/deployment.ts";

export interface Opened {
  readonly config: Config;
  readonly deployment: Deployment;
}

/** Opens the deployment without provisioning, runs `fn`, and closes it (the embedded server stops). */
export async function withDeployment<T>(fn: (opened: Opened) => Promise<T>, config: Config = loadConfig()): Promise<T> {
  const deployment = await openDeployment(config, { provision: false });
  try {
    return await fn({ config, deployment });
  } finally {
    await deployment.close();
  }
}

/** As withDeployment, with the Databases (pools, who is asking) on it; the pools close before the deployment. */
export async function withDatabases<T>(fn: (databases: Databases, opened: Opened) => Promise<T>, config: Config = loadConfig()): Promise<T> {
  return withDeployment(async (opened) => {
    const databases = createDatabases(opened.deployment, opened.config);
    try {
      return await fn(databases, opened);
    } finally {
      await databases.close();
    }
  }, config);
}
