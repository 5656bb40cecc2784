/**
 * `alwrity deploy`: the pending migrations of both databases applied to the running
 * platform, then every API process told to take up the new schema (src/bootstrap/deploy.ts).
 * It never provisions: provisioning through DATABASE_ADMIN_URL gives the login roles new
 * passwords, which would sign the running API processes out of their databases.
 */
import { loadConfig, type Config } from "../config.ts";
import { deploy, type DeployOptions } from "../bootstrap/deploy.ts";
import { withDeployment } from "./open-deployment.ts";

export async function runDeployCommand(options: { json: boolean; migrationsFolders?: DeployOptions["migrationsFolders"] }, config: Config = loadConfig()): Promise<void> {
  if (config.source.kind === "admin") {
    throw new Error(
      "alwrity deploy runs the migrations as each database's owner and never provisions (that would give the running API's logins new passwords): " +
        "set PLATFORM_DATABASE_URL, USER_DATA_DATABASE_URL, PLATFORM_MIGRATION_DATABASE_URL and USER_DATA_MIGRATION_DATABASE_URL instead of DATABASE_ADMIN_URL",
    );
  }
  await withDeployment(async ({ deployment }) => {
    const result = await deploy(deployment, {
      migrationsFolders: options.migrationsFolders,
      progress: options.json ? undefined : (line) => console.log(line),
    });
    if (options.json) console.log(JSON.stringify(result));
    else console.log("deployed: every pending migration committed; each API process rebuilds its schema and swaps it in between requests (log event schema_reloaded)");
  }, config);
}
