/**
 * `alwrity entitlements <command>`: an operator's view of plan limits.
 *   resync       carries every account's plan limits to the user-data database now, one user at a time
 *                (what the sync_entitlements job does for one user after each plan change)
 *   over-limit   the users whose data holds more than their plan allows (after a downgrade)
 */
import { resyncAllEntitlements } from "../services/entitlements.ts";
import { overLimitReport } from "../services/plans.ts";
import { withDatabases } from "./open-deployment.ts";

export type EntitlementsCommand = "resync" | "over-limit";

export async function runEntitlementsCommand(command: EntitlementsCommand, options: { json: boolean }): Promise<void> {
  await withDatabases(async (databases) => {
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
  });
}
