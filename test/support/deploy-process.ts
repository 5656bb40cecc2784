/**
 * `alwrity deploy` as a process of its own for the deploy tests: the same command
 * (src/cli/deploy-command.ts), configured by the environment, except that the
 * user-data database's migrations come from the folder given as the argument (a
 * test's own chain, test/support/extra-migrations.ts) instead of db/user_data.
 */
import { runDeployCommand } from "../../src/cli/deploy-command.ts";
import { runCli } from "../../src/cli/run-cli.ts";

runCli(async ([userDataFolder]) => {
  if (!userDataFolder) throw new Error("usage: deploy-process.ts <user-data migrations folder>");
  await runDeployCommand({ json: false, migrationsFolders: { userData: userDataFolder } });
});
