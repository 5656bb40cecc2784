/**
 * Erasure of an account across both databases. The request is one platform
 * transaction (its job is enqueued inside it: the queue is the outbox); the
 * erase_user job then removes the user's rows from the user-data database in
 * bounded batches, each its own transaction, as the user themselves (so
 * row-level security keeps every other user's rows out of reach), and
 * finally erases the personal data on the platform. Each step can run again.
 */
import type { Databases } from "../db/databases.ts";
import type { AdminSession, UserSession } from "../db/session.ts";
import {
  accountDeletion as accountDeletionQuery,
  beginAccountErasure,
  completeAccountErasure,
  recordErasureProgress,
  requestAccountDeletion as requestQuery,
} from "../../generated/platform/erasure.queries.ts";
import { eraseAssetsBatch, eraseIdempotencyKeysBatch, erasePersonasBatch, eraseProfile, eraseProjectsBatch } from "../../generated/user_data/erasure.queries.ts";
import { run, single } from "./run-query.ts";

export type DeletionRequester = "user" | "operator" | "clerk";

/** Starts the erasure of an account (idempotent): from its commit on, the account signs in nowhere. */
export async function requestAccountDeletion(session: AdminSession, userId: string, requestedBy: DeletionRequester) {
  return single(await run(session, requestQuery, { userId, requestedBy }), "request_account_deletion");
}

/** The erasure of an account as platform admins see it, or null when none was requested. */
export async function accountDeletion(session: AdminSession, userId: string) {
  return (await run(session, accountDeletionQuery, { userId }))[0] ?? null;
}

/** Rows removed per transaction: small enough that no erasure holds locks or WAL for long. */
export const ERASURE_BATCH = 1000;

const BATCHES = [eraseIdempotencyKeysBatch, eraseAssetsBatch, erasePersonasBatch, eraseProjectsBatch] as const;

/** Removes up to `batch` of the user's rows, children first; answers how many went (0: nothing left). */
export async function eraseUserDataBatch(session: UserSession<"userData">, userId: string, batch = ERASURE_BATCH): Promise<number> {
  for (const query of BATCHES) {
    const removed = (await run(session, query, { userId, batch })).length;
    if (removed > 0) return removed;
  }
  return (await run(session, eraseProfile, { userId })).length;
}

export interface ErasureOutcome {
  readonly state: "completed" | "not-requested";
  readonly rowsErased: number;
}

/** The erase_user job's work: safe to run again from any point, and by two workers at once. */
export async function eraseAccount(databases: Pick<Databases, "platform" | "userData">, userId: string, onBatch?: (rows: number) => void): Promise<ErasureOutcome> {
  const state = await databases.platform.withPlatformAdmin(async (admin) => single(await run(admin, beginAccountErasure, { userId }), "begin_account_erasure").state);
  if (state === null) return { state: "not-requested", rowsErased: 0 };
  let total = 0;
  if (state !== "completed") {
    for (;;) {
      const removed = await databases.userData.withUserContext(userId, (session) => eraseUserDataBatch(session, userId));
      if (removed === 0) break;
      total += removed;
      // Progress is for operators only; a lost update here costs nothing.
      await databases.platform.withPlatformAdmin((admin) => run(admin, recordErasureProgress, { userId, rows: removed }));
      onBatch?.(removed);
    }
    await databases.platform.withPlatformAdmin((admin) => run(admin, completeAccountErasure, { userId, rowsErased: 0 }));
  }
  return { state: "completed", rowsErased: total };
}
