/**
 * Idempotency-Key on GraphQL requests (docs/retries.md). Runs after the auth
 * gate (it needs the user) and inside the 503 plugin. For a request with a
 * key it holds one transaction for the whole request (held-transactions.ts),
 * lets Grafast produce the whole answer, then stores the answer with the key
 * and commits, and only then sends it:
 *
 * - committed: the answer goes out; a retry with the same key and body gets
 *   the same bytes, marked `Idempotent-Replayed: true`, and writes nothing;
 * - the commit failed (the connection died before or during COMMIT): 503,
 *   and the retry finds either the stored answer (it did commit) or nothing
 *   (it did not) and runs afresh: never a second effect;
 * - a database was away or busy, or the request ran out of time, during the
 *   work: rolled back, and the answer says so (503 or 500) without the data
 *   of mutations that are now undone.
 */
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";
import type {} from "postgraphile/grafserv/node";
import { jsonLinesLogger, type Logger } from "../../log.ts";
import { unavailability } from "../http/database-unavailable.ts";
import { IdempotentRequest, ReplayInstead, idempotentRequest } from "./held-transactions.ts";
import { IDEMPOTENCY_KEY_HEADER, IdempotencyError, REPLAYED_HEADER, idempotencyKeyOf, needsSignIn, requestHash } from "./key.ts";
import { rememberAnswer } from "./store.ts";
import { currentRequest } from "../request-context.ts";

export interface IdempotencyOptions {
  /** IDEMPOTENCY_KEY_TTL, in seconds. */
  ttlSeconds: number;
  retryAfterSeconds: number;
  log?: Logger;
}

/**
 * Error codes after which the request's work is undone rather than stored: a
 * retry may well succeed, so it must find no stored failure. The database's
 * own codes: query_canceled (the request's time ran out), serialization and
 * deadlock failures.
 */
const TRANSIENT = new Set(["DATABASE_UNAVAILABLE", "DATABASE_BUSY", "TOO_MANY_CONNECTIONS", "57014", "40001", "40P01"]);

type Errors = Array<{ message?: string; extensions?: { code?: unknown; errorId?: unknown } }>;
type Answer = { type: "buffer"; statusCode: number; headers: Record<string, string>; buffer: Buffer };

export function idempotencyPlugin(options: IdempotencyOptions): GraphileConfig.Plugin {
  const { ttlSeconds, retryAfterSeconds, log = jsonLinesLogger() } = options;
  const json = (statusCode: number, body: object, headers: Record<string, string> = {}) => jsonText(statusCode, JSON.stringify(body), headers);
  const refusal = (error: IdempotencyError, requestId: string | undefined) =>
    json(error.statusCode, { errors: [{ message: error.message, extensions: { code: error.code, requestId } }] });

  return {
    name: "AlwrityIdempotencyPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        processRequest(next, event) {
          const digest = event.requestDigest;
          const req = digest.requestContext.node?.req;
          const state = currentRequest.getStore();
          // Most requests carry no key: they pass on as they came, without a promise of this plugin's around them.
          if (!req || !state || req.headers[IDEMPOTENCY_KEY_HEADER] === undefined) return next();
          return (async () => {
            let key: string;
            try {
              key = idempotencyKeyOf(req.method, req.headers[IDEMPOTENCY_KEY_HEADER])!;
              if (state.viewer.kind !== "user") throw needsSignIn();
            } catch (error) {
              return refusal(error as IdempotencyError, state.requestId);
            }
            // The body is read here for its hash, and handed to grafserv as read.
            let body: Awaited<ReturnType<typeof digest.getBody>>;
            try {
              body = await digest.getBody();
            } catch (error) {
              digest.getBody = () => Promise.reject(error);
              return next(); // grafserv answers a body it cannot read (413, 400)
            }
            digest.getBody = () => body;
            const text = body.type === "buffer" ? body.buffer.toString("utf8") : body.type === "text" ? body.text : JSON.stringify(body.json);
            const request = new IdempotentRequest(state.viewer.userId, key, requestHash(text, "/graphql"));

            let result: Awaited<ReturnType<typeof next>>;
            try {
              result = await idempotentRequest.run(request, next);
            } catch (error) {
              await request.rollback();
              throw error;
            }
            if (request.stopped) {
              await request.rollback();
              if (request.stopped instanceof ReplayInstead) {
                const { statusCode, body: stored } = request.stopped.answer;
                return jsonText(statusCode, stored, { [REPLAYED_HEADER]: "true" });
              }
              return refusal(request.stopped, state.requestId);
            }
            if (!result || (result.type !== "buffer" && result.type !== "json")) {
              await request.rollback();
              if (!result) return result;
              return refusal(new IdempotencyError("IDEMPOTENCY_KEY_INVALID", 400, "a streamed answer (@defer, @stream) cannot be stored: send the request without them"), state.requestId);
            }
            const answer = result.type === "buffer" ? result.buffer.toString("utf8") : JSON.stringify(result.json);
            const errors = errorsOf(answer);
            const transient = errors.some((e) => TRANSIENT.has(String(e.extensions?.code)));
            if (transient || errors.some((e) => e.extensions?.errorId !== undefined)) {
              // Undone: the answer keeps its errors and loses its data (what it reported is no longer there).
              await request.rollback();
              return json(transient ? 503 : 500, { errors }, transient ? { "retry-after": String(retryAfterSeconds) } : {});
            }
            try {
              await request.commit((client) =>
                rememberAnswer(client, request.userId, key, { requestHash: request.requestHash, statusCode: result.statusCode, body: answer }, ttlSeconds),
              );
            } catch (error) {
              // Whether COMMIT took effect is unknown: the retry, with the same key, finds out.
              const away = unavailability(error);
              log("idempotent_commit_failed", { requestId: state.requestId, code: away?.code, message: (error as Error).message });
              if (!away) return json(500, { errors: [{ message: "Internal error", extensions: { requestId: state.requestId } }] });
              return json(503, { errors: [{ message: away.message, extensions: { code: away.code, requestId: state.requestId } }] }, { "retry-after": String(retryAfterSeconds) });
            }
            // What was stored is what is sent, byte for byte.
            return { type: "buffer" as const, statusCode: result.statusCode, headers: result.headers, buffer: Buffer.from(answer) };
          })();
        },
      },
    },
  };
}

function jsonText(statusCode: number, text: string, headers: Record<string, string> = {}): Answer {
  return { type: "buffer", statusCode, headers: { "content-type": "application/json; charset=utf-8", ...headers }, buffer: Buffer.from(text) };
}

function errorsOf(answer: string): Errors {
  try {
    const parsed = JSON.parse(answer) as { errors?: unknown };
    return Array.isArray(parsed.errors) ? (parsed.errors as Errors) : [];
  } catch {
    return [];
  }
}
