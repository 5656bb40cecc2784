/**
 * What clients learn about errors. GraphQL errors (validation, unknown fields)
 * pass unchanged. Database errors keep their SQLSTATE, so clients can tell a
 * permission denial from a missing reference, but in production their text is
 * replaced by a fixed message. Anything else is logged with the request id and
 * answered with an opaque message.
 */
import { randomUUID } from "node:crypto";
import { isSafeError } from "postgraphile/grafast";
import { GraphQLError, type GraphQLFormattedError } from "postgraphile/graphql";
import type { Environment } from "../../config.ts";
import { jsonLinesLogger } from "../../log.ts";
import { notFoundMessage } from "./not-found.ts";
import { noteUnavailability, unavailability } from "../http/database-unavailable.ts";
import { noteResponseError } from "../http/operations.ts";
import { currentRequest } from "../request-context.ts";

/** Messages safe to show for a SQLSTATE, in production. */
const PUBLIC_MESSAGES: Record<string, string> = {
  "23502": "A required value is missing",
  "23503": "A referenced record does not exist or is not yours",
  "23505": "A record with these values already exists",
  "23514": "A value is out of range or malformed",
  "22001": "A value is too long",
  "22P02": "A value is malformed",
  "22023": "A value is not valid",
  "42501": "Permission denied",
  "53400": "A limit of your plan has been reached",
  "57014": "The request took too long",
};

/**
 * SQLSTATEs whose messages the database writes for the client (a plan's limit
 * names the limit, its value and the plan): shown as they are, with the hint,
 * in production too.
 */
const CLIENT_WORDED = new Set(["53400"]);

export function makeErrorMask(environment: Environment, log = jsonLinesLogger()): (error: GraphQLError) => GraphQLError | GraphQLFormattedError {
  const production = environment === "production";
  return (error) => {
    const original = error.originalError as (Error & { code?: unknown }) | undefined;
    // For the request's metrics: whether it failed, and the database error's SQLSTATE class.
    noteResponseError(typeof original?.code === "string" && /^[0-9A-Z]{5}$/.test(original.code) ? original.code : undefined);
    if (!original || original instanceof GraphQLError) return error;
    if (isSafeError(original)) return error;
    const requestId = currentRequest.getStore()?.requestId;
    const base = { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
    // An update or delete that matched no row the user can see: missing and not-yours read the same.
    const notFound = notFoundMessage(original.message);
    if (notFound) return new GraphQLError(notFound, { ...base, extensions: { code: "NOT_FOUND", requestId } });
    const away = unavailability(original);
    if (away) {
      // Not the client's fault and not a bug: a 503 with a stable code (database-unavailable.ts).
      noteUnavailability(away);
      log("database_unavailable", { requestId, path: error.path, code: away.code, message: original.message });
      return new GraphQLError(away.message, { ...base, extensions: { code: away.code, requestId } });
    }
    const code = typeof original.code === "string" && /^[0-9A-Z]{5}$/.test(original.code) ? original.code : undefined;
    if (code && CLIENT_WORDED.has(code)) {
      const hint = (original as { hint?: unknown }).hint;
      return new GraphQLError(original.message, { ...base, extensions: { code, ...(typeof hint === "string" ? { hint } : {}), requestId } });
    }
    if (code && (PUBLIC_MESSAGES[code] || !production)) {
      const message = production ? PUBLIC_MESSAGES[code]! : original.message;
      return new GraphQLError(message, { ...base, extensions: { code, requestId } });
    }
    const errorId = randomUUID();
    log("request_failed", { requestId, errorId, path: error.path, message: original.message, code, stack: original.stack });
    return new GraphQLError(production ? "Internal error" : original.message, { ...base, extensions: { errorId, requestId } });
  };
}
