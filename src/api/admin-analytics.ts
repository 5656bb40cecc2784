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
import type { Databases } from "../db/databases.ts";
import type { Logger } from "../log.ts";
import { ANALYTICS_REPORTS, analyticsReport, isAnalyticsReport, parsePeriod } from "../services/analytics.ts";
import { recordAuditEvent } from "../services/audit.ts";
import type { AccountResolver } from "./auth/accounts.ts";
import { AuthError, type TokenVerifier } from "./auth/tokens.ts";
import { unavailability } from "./database-unavailable.ts";
import { RateLimitedError, type RateLimits } from "./rate-limits.ts";

export const ADMIN_ANALYTICS_PATH = "/admin/analytics";

export interface AdminAnalyticsOptions {
  readonly enabled: boolean;
  readonly verify: TokenVerifier;
  readonly resolveAccount: AccountResolver;
  readonly rateLimits: RateLimits;
  readonly databases: Pick<Databases, "platform">;
  readonly retryAfterSeconds: number;
  readonly log: Logger;
}

/** Whether a request path is the admin analytics' (the route and its reports). */
export function isAdminAnalyticsPath(pathname: string): boolean {
  return pathname === ADMIN_ANALYTICS_PATH || pathname.startsWith(`${ADMIN_ANALYTICS_PATH}/`);
}

export function adminAnalyticsHandler(options: AdminAnalyticsOptions) {
  const { verify, resolveAccount, rateLimits, databases, log } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reply = (status: number, body: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
    };
    if (!options.enabled) return reply(404, { error: "admin analytics are off: set ADMIN_CLAIM to the session-token claim that marks platform admins" });
    if (req.method !== "GET") return reply(405, { error: "use GET" }, { allow: "GET" });
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      await rateLimits.address(req.socket.remoteAddress ?? "unknown");
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (!match) throw new AuthError("authorization-missing", "admin analytics need `Authorization: Bearer <session token>`");
      const identity = await verify(match[1]!);
      // The account must exist and not be on its way out, as for any signed-in request.
      const userId = await resolveAccount(identity, req.socket.remoteAddress ?? "unknown");
      await rateLimits.user(userId);
      if (!identity.admin) return reply(403, { error: "forbidden: analytics are for platform admins", code: "FORBIDDEN" });

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
      if (error instanceof AuthError) return reply(401, { error: error.message, reason: error.reason, code: "UNAUTHENTICATED" });
      if (error instanceof RateLimitedError) return reply(429, { error: error.message, code: "RATE_LIMITED" }, { "retry-after": String(error.retryAfterSeconds) });
      const away = unavailability(error);
      if (away) return reply(503, { error: away.message, code: away.code }, { "retry-after": String(options.retryAfterSeconds) });
      log("admin_analytics_failed", { path: url.pathname, message: (error as Error).message });
      return reply(500, { error: "internal error" });
    }
  };
}
