/**
 * `alwrity entitlements <command>`: an operator's view of plan limits.
 *   resync       carries every account's plan limits to the user-data database now, one user at a time
 *                (what the sync_entitlements job does for one user after each plan change)
 *   over-limit   the users whose data holds more than their plan allows (after a downgrade)
 */
import { loadConfig } from "../config.ts";
import { createDatabases } from "../db/databases.ts";
import { openDeployment } from "../bootstrap/deployment.ts";
import { resyncAllEntitlements } from "../services/entitlements.ts";
import { overLimitReport } from "../services/plans.ts";

export const ENTITLEMENTS_COMMANDS = {
  resync: "carry every account's plan limits to the user-data database now (a full resync; safe to run at any time)",
  "over-limit": "users whose projects or personas exceed their plan after a downgrade (--json for machines)",
} as const;
export type EntitlementsCommand = keyof typeof ENTITLEMENTS_COMMANDS;

export async function runEntitlementsCommand(command: EntitlementsCommand, options: { json: boolean }): Promise<void> {
  const config = loadConfig();
  const deployment = await openDeployment(config, { provision: false });
  const databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
  try {
    if (command === "resync") {
      const summary = await resyncAllEntitlements(databases);
      console.log(options.json ? JSON.stringify(summary) : `entitlements synced for ${summary.users} users; ${summary.overLimit} over a limit`);
      return;
    }
    const rows = await databases.platform.withPlatformAdmin(overLimitReport);
    if (options.json) return console.log(JSON.stringify(rows));
    if (rows.length === 0) return console.log("no user is over a limit");
    for (const r of rows) {
      console.log(`${r.user_id} ${r.email ?? "-"} ${r.plan_name}: projects ${r.projects}/${r.max_projects ?? "∞"}, personas ${r.personas}/${r.max_personas ?? "∞"}`);
    }
  } finally {
    await databases.close();
  }
}
