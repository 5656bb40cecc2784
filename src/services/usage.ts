/** Usage: recording billable AI operations under the plan's fair-use limit, and a user's usage. */
import type pg from "pg";
import type { PlatformDatabase } from "../db/database.ts";
import { recordUsage as recordUsageQuery, usageThisMonth as usageThisMonthQuery, type IRecordUsageParams } from "../../generated/platform/usage.queries.ts";
import { asPlatformAdmin, asUser, jsonb, single } from "./run-query.ts";

/** The event would take the user past their plan's monthly token limit (SQLSTATE 53400). */
export class UsageLimitExceededError extends Error {
  override name = "UsageLimitExceededError";
}

/** Records one billable operation (as platform admin); refuses it past the plan's monthly limit. */
export async function recordUsage(db: PlatformDatabase, params: IRecordUsageParams) {
  try {
    return single(await asPlatformAdmin(db, recordUsageQuery, { ...params, metadata: jsonb(params.metadata) }), "record_usage");
  } catch (error) {
    if ((error as pg.DatabaseError).code === "53400") throw new UsageLimitExceededError((error as Error).message);
    throw error;
  }
}

/** The user's usage this month (UTC), by feature. */
export function usageThisMonth(db: PlatformDatabase, userId: string) {
  return asUser(db, userId, usageThisMonthQuery, undefined);
}
