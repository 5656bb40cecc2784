/** Usage: recording billable AI operations under the plan's fair-use limit, and a user's usage. Each runs in the caller's session. */
import type pg from "pg";
import type { AdminSession, UserSession } from "../db/session.ts";
import { recordUsage as recordUsageQuery, usageThisMonth as usageThisMonthQuery, type IRecordUsageParams } from "../../generated/platform/usage.queries.ts";
import { jsonb, run, single } from "./run-query.ts";

/** The event would take the user past their plan's monthly token limit (SQLSTATE 53400). */
export class UsageLimitExceededError extends Error {
  override name = "UsageLimitExceededError";
}

/** Records one billable operation (as platform admin); refuses it past the plan's monthly limit. */
export async function recordUsage(session: AdminSession, params: IRecordUsageParams) {
  try {
    return single(await run(session, recordUsageQuery, { ...params, metadata: jsonb(params.metadata) }), "record_usage");
  } catch (error) {
    if ((error as pg.DatabaseError).code === "53400") throw new UsageLimitExceededError((error as Error).message);
    throw error;
  }
}

/** The signed-in user's usage this month (UTC), by feature. */
export function usageThisMonth(session: UserSession<"platform">) {
  return run(session, usageThisMonthQuery, undefined);
}
