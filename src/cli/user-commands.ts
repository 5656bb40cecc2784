/**
 * `alwrity user <command> <user id>`: an operator acting on one account.
 *   delete   starts the erasure of the account (as `requested_by = operator`)
 *   status   shows the erasure's state (requested, in_progress, completed)
 *   export   writes everything about the user in both databases as one JSON document (streamed)
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { loadConfig } from "../config.ts";
import { createDatabases } from "../db/databases.ts";
import { openDeployment } from "../bootstrap/deployment.ts";
import { accountDeletion, requestAccountDeletion } from "../services/erasure.ts";
import { exportUser } from "../services/export.ts";
import { isUuid } from "../uuid.ts";

export const USER_COMMANDS = {
  delete: "erase an account: from now on it signs in nowhere; the job worker removes its data from both databases",
  status: "the erasure of an account as platform admins see it (--json for machines)",
  export: "everything about the user in both databases as one JSON document, streamed to stdout or --out <file>",
} as const;
export type UserCommand = keyof typeof USER_COMMANDS;


export async function runUserCommand(command: UserCommand, userId: string | undefined, options: { json: boolean; out?: string }): Promise<void> {
  if (userId === undefined || !isUuid(userId)) {
    throw new Error(`alwrity user ${command} needs a platform user id (a uuid, users.id), got ${userId === undefined ? "nothing" : JSON.stringify(userId)}`);
  }
  const config = loadConfig();
  const deployment = await openDeployment(config, { provision: false });
  const databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
  try {
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
    const row =
      command === "delete"
        ? await databases.platform.withPlatformAdmin((admin) => requestAccountDeletion(admin, userId, "operator"))
        : await databases.platform.withPlatformAdmin((admin) => accountDeletion(admin, userId));
    if (row === null) throw new Error(`no erasure was requested for user ${userId}`);
    console.log(options.json ? JSON.stringify(row) : Object.entries(row).map(([k, v]) => `${k}: ${v instanceof Date ? v.toISOString() : String(v)}`).join("\n"));
  } catch (error) {
    if ((error as { code?: string }).code === "22023") throw new Error(`no platform user ${userId}`);
    throw error;
  } finally {
    await databases.close();
  }
}
