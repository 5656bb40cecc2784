/**
 * A grafserv middleware that authenticates every GraphQL request before it is
 * planned: no Authorization header means the anonymous role; a bearer token is
 * verified (tokens.ts) and mapped to a platform user (accounts.ts); a bad token
 * is answered with HTTP 401 and a short reason, never a 500.
 */
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";
import type {} from "postgraphile/grafserv/node";
import { randomUUID } from "node:crypto";
import { jsonLinesLogger } from "../log.ts";
import type { AccountResolver } from "./auth/accounts.ts";
import { AuthError, type TokenVerifier } from "./auth/tokens.ts";
import { unavailability } from "./database-unavailable.ts";
import { currentRequest, type RequestState, type Viewer } from "./request-context.ts";

export function authGatePlugin(verify: TokenVerifier, resolveAccount: AccountResolver, retryAfterSeconds: number, log = jsonLinesLogger()): GraphileConfig.Plugin {
  async function viewerFor(authorization: string | undefined): Promise<Viewer> {
    if (!authorization) return { kind: "anonymous" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new AuthError("authorization-malformed", "the Authorization header must be `Bearer <token>`");
    const identity = await verify(match[1]!);
    return { kind: "user", userId: await resolveAccount(identity) };
  }

  return {
    name: "AlwrityAuthGatePlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next, event) {
          const req = event.requestDigest.requestContext.node?.req;
          if (!req) return next();
          const requestId = randomUUID();
          let state: RequestState;
          try {
            state = { requestId, viewer: await viewerFor(req.headers.authorization) };
          } catch (error) {
            const away = unavailability(error);
            if (away) {
              // Signing in needs the platform database (first-time registration): say it is away.
              log("database_unavailable", { requestId, code: away.code, message: (error as Error).message });
              return jsonResult(503, { errors: [{ message: away.message, extensions: { code: away.code, requestId } }] }, requestId, { "retry-after": String(retryAfterSeconds) });
            }
            if (!(error instanceof AuthError)) {
              log("authentication_failed", { requestId, message: (error as Error).message, stack: (error as Error).stack });
              return jsonResult(500, { errors: [{ message: "Internal error", extensions: { requestId } }] }, requestId);
            }
            return jsonResult(
              401,
              { errors: [{ message: "Unauthorized", extensions: { code: "UNAUTHENTICATED", reason: error.reason, requestId } }] },
              requestId,
              { "www-authenticate": `Bearer error="invalid_token", error_description="${error.reason}"` },
            );
          }
          event.requestDigest.requestContext.node?.res?.setHeader("x-request-id", requestId);
          return currentRequest.run(state, next);
        },
      },
    },
  };
}

function jsonResult(statusCode: number, json: { errors: object[] }, requestId: string, headers: Record<string, string> = {}) {
  return {
    type: "json" as const,
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId, ...headers },
    json: json as never,
  };
}
