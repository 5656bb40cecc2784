/**
 * Analytics for platform admins: the reports of the platform_analytics schema,
 * by name, over a period [from, to). They run in an admin session (the
 * functions are usable by the platform admin only); the API's admin path and
 * `alwrity analytics` both come through here.
 */
import type { PreparedQuery } from "@pgtyped/runtime";
import type { AdminSession } from "../db/session.ts";
import * as q from "../../generated/platform/analytics.queries.ts";
import { run } from "./run-query.ts";

export interface Period {
  readonly from: Date;
  readonly to: Date;
}

type Report = { readonly describe: string; readonly run: (session: AdminSession, period: Period) => Promise<object[]> };

const over =
  <R>(query: PreparedQuery<{ from: Date; to: Date }, R>) =>
  (session: AdminSession, period: Period) =>
    run(session, query, period);

export const ANALYTICS_REPORTS = {
  "daily-active-users": { describe: "users with usage, per UTC day", run: over(q.dailyActiveUsers) },
  "monthly-active-users": { describe: "users with usage, per UTC month (from the monthly totals)", run: over(q.monthlyActiveUsers) },
  "usage-by-feature": { describe: "tokens, cost, events and users per feature", run: over(q.usageByFeature) },
  "usage-by-plan": { describe: "tokens, cost, events and users per plan (the plan at the time of each event)", run: over(q.usageByPlan) },
  "plan-conversions": { describe: "plan changes: free_to_paid, paid_to_free, upgrade, downgrade", run: over(q.planConversions) },
  "feature-adoption": { describe: "users per feature, their share of active users, and first-time users", run: over(q.featureAdoption) },
  "heaviest-users": {
    describe: "the 20 users with the most tokens",
    run: (session, period) => run(session, q.heaviestUsers, { ...period, limit: 20 }),
  },
} as const satisfies Record<string, Report>;
export type AnalyticsReport = keyof typeof ANALYTICS_REPORTS;

export function isAnalyticsReport(name: string): name is AnalyticsReport {
  return Object.hasOwn(ANALYTICS_REPORTS, name);
}

/** The period a report covers when none is given: the last 30 days up to now. */
export function defaultPeriod(now = new Date()): Period {
  return { from: new Date(now.getTime() - 30 * 86_400_000), to: now };
}

/** Reads a period from optional texts (ISO dates or timestamps); an error names the one that is wrong. */
export function parsePeriod(from: string | undefined, to: string | undefined, now = new Date()): Period {
  const fallback = defaultPeriod(now);
  const parse = (name: string, text: string | undefined, otherwise: Date) => {
    if (text === undefined || text === "") return otherwise;
    const value = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text) : new Date(NaN);
    if (Number.isNaN(value.getTime())) throw new TypeError(`${name} must be a date (YYYY-MM-DD) or an ISO timestamp, got ${JSON.stringify(text)}`);
    return value;
  };
  const period = { from: parse("from", from, fallback.from), to: parse("to", to, fallback.to) };
  if (period.from >= period.to) throw new TypeError(`from (${period.from.toISOString()}) must be before to (${period.to.toISOString()})`);
  return period;
}

export function analyticsReport(session: AdminSession, report: AnalyticsReport, period: Period): Promise<object[]> {
  return ANALYTICS_REPORTS[report].run(session, period);
}
