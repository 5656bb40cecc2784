/**
 * GET /export: a signed-in user downloads everything the platform holds about
 * them, in both databases, as one JSON document (src/services/export.ts).
 *
 * Signed in exactly like GraphQL (the auth gate's createSignIn: same token
 * checks, same account cache and revocation, same per-address and per-user
 * limits), and then limited to RATE_LIMIT_EXPORTS_PER_USER exports an hour,
 * since each one reads every row the user owns. The document is streamed
 * with chunked transfer encoding and backpressure: the server holds one batch
 * of rows at a time, however large the user. The export's database work runs
 * under a request budget like any request (fair shares of the pools), with
 * API_EXPORT_TIMEOUT as its deadline; a client that goes away cancels it.
 *
 * An export that fails after its first byte cannot change its status any
 * more: the connection is cut, so the client sees a truncated download (a
 * JSON document that does not parse), never a complete-looking one.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Databases } from "../../db/databases.ts";
import { requestBudget } from "../../db/fair-use.ts";
import type { Logger } from "../../log.ts";
import { exportUser } from "../../services/export.ts";
import { refusalFor, signedInUser, type SignIn } from "../auth/gate.ts";
import { unavailability } from "../http/database-unavailable.ts";
import { reply } from "../http/plain-http.ts";
import type { RateLimits } from "../http/rate-limits.ts";

export const EXPORT_PATH = "/export";

export interface ExportRouteOptions {
  signIn: SignIn;
  rateLimits: Pick<RateLimits, "exports">;
  databases: Pick<Databases, "platform" | "userData">;
  retryAfterSeconds: number;
  /** API_EXPORT_TIMEOUT, in milliseconds. */
  timeoutMs: number;
  log: Logger;
}

export function exportHandler(options: ExportRouteOptions) {
  const { signIn, rateLimits, databases, retryAfterSeconds, timeoutMs, log } = options;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const answer = (statusCode: number, headers: Record<string, string>, json: object) => reply(res, statusCode, json, { "x-request-id": requestId, ...headers });
    if (req.method !== "GET") {
      return answer(405, { allow: "GET" }, { errors: [{ message: `${EXPORT_PATH} is read with GET`, extensions: { code: "METHOD_NOT_ALLOWED", requestId } }] });
    }
    const signedIn = await signedInUser(signIn, req, { requestId, retryAfterSeconds, log, route: "an export" });
    if ("refusal" in signedIn) return answer(signedIn.refusal.statusCode, signedIn.refusal.headers, signedIn.refusal.json);
    const userId = signedIn.user.userId;
    try {
      await rateLimits.exports(userId);
    } catch (error) {
      const { statusCode, headers, json } = refusalFor(error, requestId, retryAfterSeconds, log);
      return answer(statusCode, headers, json);
    }

    // The client going away, or the deadline, cancels the statements still running for the export.
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), timeoutMs);
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);
    let started = false;
    const write = (chunk: string): Promise<void> => {
      if (!started) {
        started = true;
        // No content-length: node sends the body chunked, as it is produced.
        res.writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          "content-disposition": `attachment; filename="alwrity-export-${userId}.json"`,
          "cache-control": "no-store",
          "x-request-id": requestId,
        });
      }
      if (abort.signal.aborted) return Promise.reject(new Error("the export was abandoned (client gone or API_EXPORT_TIMEOUT passed)"));
      if (res.write(chunk)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = () => {
          res.off("drain", done);
          abort.signal.removeEventListener("abort", done);
          if (abort.signal.aborted) reject(new Error("the export was abandoned (client gone or API_EXPORT_TIMEOUT passed)"));
          else resolve();
        };
        res.on("drain", done);
        abort.signal.addEventListener("abort", done);
      });
    };
    try {
      await requestBudget.run({ holder: userId, deadline: Date.now() + timeoutMs, signal: abort.signal }, () => exportUser(databases, userId, "user", write));
      res.end();
      log("user_exported", { requestId, userId });
    } catch (error) {
      log("export_failed", { requestId, userId, message: (error as Error).message });
      if (!res.headersSent) {
        // Nothing sent yet (the audit event, say, could not be written): a database away is a 503 as
        // anywhere else; anything else a 500 whose details stay in the log line above.
        const { statusCode, headers, json } = unavailability(error)
          ? refusalFor(error, requestId, retryAfterSeconds, log)
          : { statusCode: 500, headers: {}, json: { errors: [{ message: "the export failed", extensions: { requestId } }] } };
        answer(statusCode, headers, json);
      } else {
        res.destroy(error as Error);
      }
    } finally {
      clearTimeout(deadline);
      res.off("close", onClose);
    }
  };
}
