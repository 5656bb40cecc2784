/**
 * GET /admin/analytics/<report>?from=…&to=…: the platform_analytics reports
 * over HTTP, for platform admins. An admin is recognised only by a claim in
 * the verified Clerk session token (ADMIN_CLAIM, e.g. metadata.role=admin),
 * never by anything else the client sends; only then does the request run as
 * the platform admin (asking.ts's platformAdmin), and each read is written to
 * the audit log in the same transaction. A signed-in user without the claim
 * gets 403; no token, 401; ADMIN_CLAIM unset, 404. GET /admin/analytics lists
 * the reports.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import { ANALYTICS_REPORTS, analyticsReport, isAnalyticsReport, parsePeriod } from "../../services/analytics.ts";
import { recordAuditEvent } from "../../services/audit.ts";
import { randomUUID } from "node:crypto";
import { signedInUser, type SignIn } from "../auth/gate.ts";
import { unavailability } from "../http/database-unavailable.ts";
import { reply as replyJson } from "../http/plain-http.ts";

export const ADMIN_ANALYTICS_PATH = "/admin/analytics";

export interface AdminAnalyticsOptions {
  readonly enabled: boolean;
  /** The sign-in every route shares (auth-gate.ts): rate limits, token, account. */
  readonly signIn: SignIn;
  readonly databases: Pick<Databases, "platform">;
  readonly retryAfterSeconds: number;
  readonly log: Logger;
}

/** Whether a request path is the admin analytics' (the route and its reports). */
export function isAdminAnalyticsPath(pathname: string): boolean {
  return pathname === ADMIN_ANALYTICS_PATH || pathname.startsWith(`${ADMIN_ANALYTICS_PATH}/`);
}

export function adminAnalyticsHandler(options: AdminAnalyticsOptions) {
  const { signIn, databases, retryAfterSeconds, log } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const reply = (status: number, body: object, headers: Record<string, string> = {}) => replyJson(res, status, body, { "x-request-id": requestId, ...headers });
    if (!options.enabled) return reply(404, { error: "admin analytics are off: set ADMIN_CLAIM to the session-token claim that marks platform admins" });
    if (req.method !== "GET") return reply(405, { error: "use GET" }, { allow: "GET" });
    const url = new URL(req.url ?? "/", "http://localhost");
    // The account must exist and not be on its way out, as for any signed-in request.
    const signedIn = await signedInUser(signIn, req, { requestId, retryAfterSeconds, log, route: "admin analytics" });
    if ("refusal" in signedIn) return reply(signedIn.refusal.statusCode, signedIn.refusal.json, signedIn.refusal.headers);
    const { userId, admin } = signedIn.user;
    try {
      if (!admin) return reply(403, { error: "forbidden: analytics are for platform admins", code: "FORBIDDEN" });

      const report = url.pathname.slice(ADMIN_ANALYTICS_PATH.length + 1);
      if (report === "") {
        return reply(200, { reports: Object.entries(ANALYTICS_REPORTS).map(([name, r]) => ({ name, describe: r.describe })) });
      }
      if (!isAnalyticsReport(report)) {
        return reply(404, { error: `no report "${report}"; reports: ${Object.keys(ANALYTICS_REPORTS).join(", ")}` });
      }
      let period;
      try {
        period = parsePeriod(url.searchParams.get("from") ?? undefined, url.searchParams.get("to") ?? undefined);
      } catch (error) {
        return reply(400, { error: (error as Error).message });
      }
      const rows = await databases.platform.withPlatformAdmin(async (admin) => {
        await recordAuditEvent(admin, "analytics.read", userId, { report, from: period.from.toISOString(), to: period.to.toISOString() });
        return analyticsReport(admin, report, period);
      });
      return reply(200, { report, from: period.from.toISOString(), to: period.to.toISOString(), rows });
    } catch (error) {
      const away = unavailability(error);
      if (away) return reply(503, { error: away.message, code: away.code }, { "retry-after": String(retryAfterSeconds) });
      log("admin_analytics_failed", { requestId, path: url.pathname, message: (error as Error).message });
      return reply(500, { error: "internal error" });
    }
  };
}
