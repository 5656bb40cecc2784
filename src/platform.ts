/**
 * The platform as one running thing: databases up (embedded or configured),
 * provisioned where the project provisions, migrated. `npm start` and
 * `alwrity dev` both run this.
 */
import { redactUrl, type Config } from "./config.ts";
import type { Deployment } from "./db/deployment.ts";
import { openMigratedDeployment } from "./db/migrations.ts";

export interface RunningPlatform {
  readonly deployment: Deployment;
  /** Human-readable lines describing where things are. */
  readonly summary: readonly string[];
  stop(): Promise<void>;
}

export async function startPlatform(config: Config): Promise<RunningPlatform> {
  const deployment = await openMigratedDeployment(config);
  const summary = [deployment.platform, deployment.userData].map((db) => `${db.name}: ${redactUrl(db.apiUrl)}`);
  if (deployment.embedded) summary.push(`embedded PostgreSQL data directory: ${deployment.embedded.dataDir}`);
  let stopped = false;
  return {
    deployment,
    summary,
    async stop() {
      if (stopped) return;
      stopped = true;
      await deployment.close();
    },
  };
}
