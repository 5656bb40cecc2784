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
import type { IncomingMessage } from "node:http";
import { jsonLinesLogger } from "../../log.ts";
import type { AccountResolver } from "./accounts.ts";
import { AuthError, type TokenVerifier } from "./tokens.ts";
import { requestBudget, type RequestBudget } from "../../db/fair-use.ts";
import type { Logger } from "../../log.ts";
import { unavailability } from "../http/database-unavailable.ts";
import type { AddressOf } from "../http/client-address.ts";
import { RateLimitedError, type RateLimits } from "../http/rate-limits.ts";
import { currentRequest, type RequestState, type Viewer } from "../request-context.ts";

/** What createSignIn is made from. */
export interface SignInParts {
  verify: TokenVerifier;
  resolveAccount: AccountResolver;
  rateLimits: RateLimits;
  /** The client's address (client-address.ts: TRUSTED_PROXIES). */
  addressOf: AddressOf;
}

export interface AuthGateOptions {
  /** The process's one sign-in (createSignIn), shared with the plain routes. */
  signIn: SignIn;
  retryAfterSeconds: number;
  /** API_REQUEST_TIMEOUT, in milliseconds: the request's time budget for database work. */
  requestTimeoutMs: number;
  log?: Logger;
}

/** Who is asking, from the Authorization header: anonymous, a signed-in user, or an error to refuse with (see refusalFor). */
export type SignIn = (req: IncomingMessage) => Promise<Viewer>;

/**
 * The one sign-in of every HTTP route (GraphQL, export, billing, admin
 * analytics): the
 * address's rate limit, the token, the account (registered on first use,
 * refused once its erasure was requested), then the user's rate limit.
 */
export function createSignIn(options: SignInParts): SignIn {
  const { verify, resolveAccount, rateLimits, addressOf } = options;
  return async (req) => {
    const authorization = req.headers.authorization;
    const address = addressOf(req);
    await rateLimits.address(address);
    if (!authorization) return { kind: "anonymous" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new AuthError("authorization-malformed", "the Authorization header must be `Bearer <token>`");
    const identity = await verify(match[1]!);
    const userId = await resolveAccount(identity, address);
    await rateLimits.user(userId);
    return { kind: "user", userId, admin: identity.admin };
  };
}

/**
 * Sign-in for a plain HTTP route that serves signed-in users only: the user,
 * or the refusal to answer with (the same as GraphQL's, and 401 without a token).
 */
export async function signedInUser(
  signIn: SignIn,
  req: IncomingMessage,
  answer: { requestId: string; retryAfterSeconds: number; log: Logger; route: string },
): Promise<{ user: Extract<Viewer, { kind: "user" }> } | { refusal: Refusal }> {
  try {
    const viewer = await signIn(req);
    if (viewer.kind === "user") return { user: viewer };
    throw new AuthError("authorization-missing", `${answer.route} needs a signed-in user (Authorization: Bearer <token>)`);
  } catch (error) {
    return { refusal: refusalFor(error, answer.requestId, answer.retryAfterSeconds, answer.log) };
  }
}

/** An HTTP answer that refuses a request before it does any work. */
export interface Refusal {
  statusCode: number;
  headers: Record<string, string>;
  json: { errors: object[] };
}

/** How a failed sign-in (or a rate limit) is answered: 429, 503, 401, or 500 for what nobody expected. */
export function refusalFor(error: unknown, requestId: string, retryAfterSeconds: number, log: Logger): Refusal {
  if (error instanceof RateLimitedError) {
    return refusal(
      429,
      { errors: [{ message: error.message, extensions: { code: "RATE_LIMITED", limit: error.setting, requestId } }] },
      requestId,
      { "retry-after": String(error.retryAfterSeconds) },
    );
  }
  const away = unavailability(error);
  if (away) {
    // Signing in needs the platform database (first-time registration): say it is away.
    log("database_unavailable", { requestId, code: away.code, message: (error as Error).message });
    return refusal(503, { errors: [{ message: away.message, extensions: { code: away.code, requestId } }] }, requestId, { "retry-after": String(retryAfterSeconds) });
  }
  if (!(error instanceof AuthError)) {
    log("authentication_failed", { requestId, message: (error as Error).message, stack: (error as Error).stack });
    return refusal(500, { errors: [{ message: "Internal error", extensions: { requestId } }] }, requestId);
  }
  return refusal(
    401,
    { errors: [{ message: `Unauthorized: ${error.message}`, extensions: { code: "UNAUTHENTICATED", reason: error.reason, requestId } }] },
    requestId,
    // RFC 6750: a request that sent no credentials is told only the scheme; a bad token, why it was refused.
    { "www-authenticate": error.reason === "authorization-missing" ? "Bearer" : `Bearer error="invalid_token", error_description="${error.reason}"` },
  );
}

export function authGatePlugin(options: AuthGateOptions): GraphileConfig.Plugin {
  const { signIn: viewerFor, retryAfterSeconds, requestTimeoutMs, log = jsonLinesLogger() } = options;

  return {
    name: "AlwrityAuthGatePlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next, event) {
          const req = event.requestDigest.requestContext.node?.req;
          const res = event.requestDigest.requestContext.node?.res;
          if (!req) return next();
          const requestId = randomUUID();
          let state: RequestState;
          try {
            state = { requestId, viewer: await viewerFor(req) };
          } catch (error) {
            const { statusCode, headers, json } = refusalFor(error, requestId, retryAfterSeconds, log);
            return { type: "json" as const, statusCode, headers, json: json as never };
          }
          res?.setHeader("x-request-id", requestId);
          // The request's budget (src/db/fair-use.ts): its share of the pools, its deadline, and an
          // abort when the client goes away before the answer or the deadline passes, which
          // cancels the statements still running for it.
          const abort = new AbortController();
          const deadline = setTimeout(() => abort.abort(), requestTimeoutMs);
          const onClose = () => {
            if (!res?.writableFinished) abort.abort();
          };
          req.socket.once("close", onClose);
          const budget: RequestBudget = {
            holder: state.viewer.kind === "user" ? state.viewer.userId : "anonymous",
            deadline: Date.now() + requestTimeoutMs,
            signal: abort.signal,
          };
          try {
            return await requestBudget.run(budget, () => currentRequest.run(state, next));
          } finally {
            clearTimeout(deadline);
            req.socket.off("close", onClose);
          }
        },
      },
    },
  };
}

function refusal(statusCode: number, json: { errors: object[] }, requestId: string, headers: Record<string, string> = {}): Refusal {
  return { statusCode, headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId, ...headers }, json };
}
