/**
 * Forgetting idempotency keys past their time (IDEMPOTENCY_KEY_TTL), in both
 * databases, in bounded batches: each batch is a short transaction of its own
 * that reads only the expired end of the expires_at index, so requests never
 * pay for expiry and no lock is held for long.
 */
import { expireIdempotencyKeys as expirePlatformKeys } from "../../generated/platform/idempotency.queries.ts";
import { expireIdempotencyKeys as expireUserDataKeys } from "../../generated/user_data/idempotency.queries.ts";
import type { Databases } from "../db/databases.ts";
import type { AdminSession, WorkerSession } from "../db/session.ts";
import { run, single } from "./run-query.ts";

/** Deletes up to `maxRows` expired keys of the platform database; answers how many. */
export async function expirePlatformKeysBatch(session: AdminSession, maxRows: number): Promise<number> {
  return single(await run(session, expirePlatformKeys, { maxRows }), "expire_idempotency_keys").deleted ?? 0;
}

/** Deletes up to `maxRows` expired keys of the user-data database; answers how many. */
export async function expireUserDataKeysBatch(session: WorkerSession, maxRows: number): Promise<number> {
  return single(await run(session, expireUserDataKeys, { maxRows }), "expire_idempotency_keys").deleted ?? 0;
}

export interface ExpiryLimits {
  /** Rows per batch (per transaction). */
  readonly batch: number;
  /** Batches per database per run: a run stays bounded, the next one goes on. */
  readonly maxBatches: number;
}

/** Deletes expired keys in both databases, batch by batch, until a batch comes back short (or maxBatches). */
export async function expireIdempotencyKeys(databases: Pick<Databases, "platform" | "userData">, limits: ExpiryLimits = { batch: 1000, maxBatches: 100 }): Promise<{ platform: number; userData: number }> {
  const drain = async (batch: () => Promise<number>) => {
    let total = 0;
    for (let i = 0; i < limits.maxBatches; i++) {
      const deleted = await batch();
      total += deleted;
      if (deleted < limits.batch) break;
    }
    return total;
  };
  return {
    platform: await drain(() => databases.platform.withPlatformAdmin((admin) => expirePlatformKeysBatch(admin, limits.batch))),
    userData: await drain(() => databases.userData.withWorker((worker) => expireUserDataKeysBatch(worker, limits.batch))),
  };
}
