/**
 * The jobs the worker runs. Each is idempotent: graphile-worker retries a
 * failed job with exponential backoff, and a job cut off at any instant (the
 * process killed) runs again from the start, finding its earlier work done.
 */
import type { Task, TaskList } from "graphile-worker";
import type { Databases } from "../db/databases.ts";
import type { Logger } from "../log.ts";
import { eraseAccount } from "../services/erasure.ts";
import { ensureUsagePartitions } from "../services/usage.ts";
import { syncEntitlements } from "../services/entitlements.ts";
import { applyScheduledChange } from "../services/plans.ts";
import { isUuid } from "../uuid.ts";
import { expireIdempotencyKeys } from "../services/idempotency.ts";


/**
 * The scheduled jobs (graphile-worker's crontab, UTC): the usage log's monthly partitions are
 * made ahead every day; fill=1d runs a missed one when the worker starts within a day.
 * Expired idempotency keys are deleted at every minute divisible by IDEMPOTENCY_KEY_SWEEP_MINUTES
 * (10 by default), in batches (a missed run is not filled: the next one deletes what it would have).
 */
export function crontab(settings: { readonly idempotencySweepMinutes: number }): string {
  return [
    "0 3 * * * ensure_usage_partitions ?fill=1d&jobKey=ensure_usage_partitions",
    `*/${settings.idempotencySweepMinutes} * * * * expire_idempotency_keys ?jobKey=expire_idempotency_keys`,
  ].join("\n");
}

export interface TaskSettings {
  /** USAGE_PARTITIONS_AHEAD: months of usage-log partitions kept ready beyond the current one. */
  readonly usagePartitionsAhead: number;
}

export function taskList(databases: Pick<Databases, "platform" | "userData">, log: Logger, settings: TaskSettings = { usagePartitionsAhead: 3 }): TaskList {
  const eraseUser: Task = async (payload, helpers) => {
    const userId = (payload as { userId?: unknown } | null)?.userId;
    if (!isUuid(userId)) throw new Error(`erase_user needs {"userId": "<uuid>"}, got ${JSON.stringify(payload)}`);
    const outcome = await eraseAccount(databases, userId);
    log("account_erasure_finished", { userId, jobId: helpers.job.id, attempt: helpers.job.attempts, ...outcome });
  };
  const ensureUsagePartitionsTask: Task = async (_payload, helpers) => {
    const created = await databases.platform.withPlatformAdmin((admin) => ensureUsagePartitions(admin, settings.usagePartitionsAhead));
    log("usage_partitions_ensured", { jobId: helpers.job.id, monthsAhead: settings.usagePartitionsAhead, created });
  };
  // Enqueued with every subscription change (a trigger, in the change's transaction): reads the plan
  // as it is when it runs, so a late or repeated run writes nothing older than what is there.
  const syncUserEntitlements: Task = async (payload, helpers) => {
    const userId = uuidField(payload, "userId", "sync_entitlements");
    const outcome = await syncEntitlements(databases, userId);
    log("entitlements_synced", { userId, jobId: helpers.job.id, ...outcome });
  };
  // Due when the paid period ends; applying twice, or after a newer request superseded it, changes nothing.
  const applyPlanChange: Task = async (payload, helpers) => {
    const changeId = uuidField(payload, "changeId", "apply_plan_change");
    const outcome = await databases.platform.withPlatformAdmin((admin) => applyScheduledChange(admin, changeId));
    log("plan_change_applied", { changeId, jobId: helpers.job.id, outcome });
  };
  const expireKeys: Task = async (_payload, helpers) => {
    const deleted = await expireIdempotencyKeys(databases);
    log("idempotency_keys_expired", { jobId: helpers.job.id, ...deleted });
  };
  return {
    expire_idempotency_keys: expireKeys,
    erase_user: eraseUser,
    ensure_usage_partitions: ensureUsagePartitionsTask,
    sync_entitlements: syncUserEntitlements,
    apply_plan_change: applyPlanChange,
  };
}

function uuidField(payload: unknown, field: string, task: string): string {
  const value = (payload as Record<string, unknown> | null)?.[field];
  if (!isUuid(value)) throw new Error(`${task} needs {"${field}": "<uuid>"}, got ${JSON.stringify(payload)}`);
  return value;
}
