/**
 * Usage: recording billable AI operations under the plan's fair-use limit, a
 * user's usage and remaining allowance (both answered from the running monthly
 * total), and the monthly partitions of the usage log. Each runs in the
 * caller's session.
 */
import type pg from "pg";
import type { AdminSession, UserSession } from "../db/session.ts";
import {
  detachUsagePartitions as detachUsagePartitionsQuery,
  ensureUsagePartitions as ensureUsagePartitionsQuery,
  monthlyAllowance as monthlyAllowanceQuery,
  recordUsage as recordUsageQuery,
  usageThisMonth as usageThisMonthQuery,
  type IRecordUsageParams,
} from "../../generated/platform/usage.queries.ts";
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

/** The signed-in user's token allowance this month: used, limit and remaining (null when unlimited), and when it resets. */
export async function monthlyAllowance(session: UserSession<"platform">) {
  return single(await run(session, monthlyAllowanceQuery, undefined), "monthly_allowance");
}

/** Creates the usage log's partitions for this month and the next `monthsAhead` months that are missing; answers their names. */
export async function ensureUsagePartitions(session: AdminSession, monthsAhead: number): Promise<string[]> {
  return (await run(session, ensureUsagePartitionsQuery, { monthsAhead })).map((r) => r.partition);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Detaches the partitions of months that ended on or before `olderThan`
 * (YYYY-MM-DD), once their monthly totals are checked against their logs;
 * answers the detached tables' names.
 */
export async function detachUsagePartitions(session: AdminSession, olderThan: string): Promise<string[]> {
  if (!DAY.test(olderThan)) throw new TypeError(`older-than must be a date (YYYY-MM-DD), got ${JSON.stringify(olderThan)}`);
  return (await run(session, detachUsagePartitionsQuery, { olderThan })).map((r) => r.partition);
}
