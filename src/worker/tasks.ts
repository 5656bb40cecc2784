/**
 * The jobs the worker runs. Each is idempotent: graphile-worker retries a
 * failed job with exponential backoff, and a job cut off at any instant (the
 * process killed) runs again from the start, finding its earlier work done.
 */
import type { Task, TaskList } from "graphile-worker";
import type { Databases } from "../db/databases.ts";
import type { Logger } from "../log.ts";
import { eraseAccount } from "../services/erasure.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function taskList(databases: Pick<Databases, "platform" | "userData">, log: Logger): TaskList {
  const eraseUser: Task = async (payload, helpers) => {
    const userId = (payload as { userId?: unknown } | null)?.userId;
    if (typeof userId !== "string" || !UUID.test(userId)) throw new Error(`erase_user needs {"userId": "<uuid>"}, got ${JSON.stringify(payload)}`);
    const outcome = await eraseAccount(databases, userId);
    log("account_erasure_finished", { userId, jobId: helpers.job.id, attempt: helpers.job.attempts, ...outcome });
  };
  return { erase_user: eraseUser };
}
