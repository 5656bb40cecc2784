/**
 * Plan changes, as the billing service (platform admin). The rules live in
 * platform_backend.change_plan: an upgrade applies at once, a downgrade or a
 * cancel is scheduled for the end of the paid period and applied then by the
 * apply_plan_change job; every change is a kept row of platform.plan_changes.
 */
import type { AdminSession } from "../db/session.ts";
import { applyPlanChange as applyQuery, changePlanTo, overLimitReport as overLimitQuery, planChangesOf } from "../../generated/platform/billing.queries.ts";
import { run, single } from "./run-query.ts";

export type ChangeSource = "admin" | "stripe" | "system";

export interface PlanChangeRequest {
  readonly source?: ChangeSource;
  /** The end of the paid period when the payment provider says so (a renewal moves it). */
  readonly periodEnd?: Date | null;
  /** Force the change to the period's end (true) or to now (false); by default upgrades are immediate, the rest deferred. */
  readonly atPeriodEnd?: boolean | null;
}

/** Requests a move to `planName`; answers the recorded change (applied, or scheduled with its effective time). */
export async function requestPlanChange(session: AdminSession, userId: string, planName: string, request: PlanChangeRequest = {}) {
  return single(
    await run(session, changePlanTo, { userId, planName, source: request.source ?? "admin", periodEnd: request.periodEnd ?? null, atPeriodEnd: request.atPeriodEnd ?? null }),
    "change_plan",
  );
}

/** Applies a scheduled change when it is due (idempotent); answers applied, superseded, not_due, unknown. */
export async function applyScheduledChange(session: AdminSession, changeId: string): Promise<string> {
  return single(await run(session, applyQuery, { changeId }), "apply_plan_change").outcome;
}

/** A user's plan changes, oldest first. */
export async function planHistory(session: AdminSession, userId: string) {
  return run(session, planChangesOf, { userId });
}

/** Users whose data exceeds their plan after a downgrade (as last synced). */
export async function overLimitReport(session: AdminSession) {
  return run(session, overLimitQuery, undefined);
}
