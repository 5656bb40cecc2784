/**
 * `alwrity user <command> <user id>`: an operator acting on one account.
 *   delete   starts the erasure of the account (as `requested_by = operator`)
 *   status   shows the erasure's state (requested, in_progress, completed)
 *   export   writes everything about the user in both databases as one JSON document (streamed)
 *   plan     moves the user to a plan, as the billing does
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { accountDeletion, requestAccountDeletion } from "../services/erasure.ts";
import { exportUser } from "../services/export.ts";
import { requestPlanChange } from "../services/plans.ts";
import { userIdOf } from "../services/accounts.ts";
import { isUuid } from "../uuid.ts";
import { withDatabases } from "./open-deployment.ts";

export type UserCommand = "delete" | "status" | "export";

export async function runUserCommand(command: UserCommand, userId: string | undefined, options: { json: boolean; out?: string }): Promise<void> {
  if (userId === undefined || !isUuid(userId)) {
    throw new Error(`alwrity user ${command} needs a platform user id (a uuid, users.id), got ${userId === undefined ? "nothing" : JSON.stringify(userId)}`);
  }
  await withDatabases(async (databases) => {
    if (command === "export") {
      const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
      const write = async (chunk: string) => {
        if (!out.write(chunk)) await once(out, "drain");
      };
      await exportUser(databases, userId, "operator", write);
      if (options.out) {
        out.end();
        await once(out, "finish");
      }
      return;
    }
    const row = await databases.platform.withPlatformAdmin((admin) => (command === "delete" ? requestAccountDeletion(admin, userId, "operator") : accountDeletion(admin, userId)));
    if (row === null) throw new Error(`no erasure was requested for user ${userId}`);
    console.log(
      options.json
        ? JSON.stringify(row)
        : Object.entries(row)
            .map(([k, v]) => `${k}: ${v instanceof Date ? v.toISOString() : String(v)}`)
            .join("\n"),
    );
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code === "22023") throw new Error(`no platform user ${userId}`);
    throw error;
  });
}

/**
 * `alwrity user plan <clerk id|user id> <plan>`: an operator moves a user to a
 * plan through the billing's own plan change (platform_backend.change_plan,
 * source admin): an upgrade applies now, a downgrade at the paid period's end
 * unless --now; the job worker then carries the limits to the user-data database.
 */
export async function runUserPlanCommand(who: string | undefined, planName: string | undefined, options: { json: boolean; now: boolean }): Promise<void> {
  if (who === undefined || planName === undefined) throw new Error("alwrity user plan needs a user (Clerk id or users.id) and a plan name: alwrity user plan <clerk id|user id> <plan>");
  await withDatabases(async (databases) => {
    const change = await databases.platform.withPlatformAdmin(async (admin) => {
      const userId = await userIdOf(admin, who);
      if (userId === undefined) throw new Error(`no platform user with id or Clerk id ${JSON.stringify(who)}`);
      return { userId, ...(await requestPlanChange(admin, userId, planName, { source: "admin", atPeriodEnd: options.now ? false : null })) };
    });
    if (options.json) return console.log(JSON.stringify(change));
    const when = change.state === "applied" ? "applied now" : `scheduled for ${change.effective_at.toISOString()}`;
    console.log(`user ${change.userId}: ${change.kind} to ${planName}, ${when} (change ${change.id})`);
  });
}
