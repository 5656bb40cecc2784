/**
 * What clients learn about errors (docs/errors.md lists every code). GraphQL
 * errors (validation, unknown fields) pass unchanged. Database errors keep
 * their SQLSTATE as extensions.code, so clients can tell a permission denial
 * from a missing reference. What the client sent wrong (SQLSTATE classes 22
 * and 23, input-errors.ts) is said as such, naming the field or argument where
 * known; in production every database message is replaced by a fixed one, with
 * no constraint, table or value in it. An anonymous request refused by the
 * database's grants is told to sign in (UNAUTHENTICATED). Anything else is a
 * fault: logged with the request id and answered with an opaque message.
 */
import { randomUUID } from "node:crypto";
import { isSafeError } from "postgraphile/grafast";
import { GraphQLError, type GraphQLFormattedError } from "postgraphile/graphql";
import type { Environment } from "../../config.ts";
import { jsonLinesLogger } from "../../log.ts";
import { describeInputError, isInputError, type ConstraintColumns, type DatabaseErrorFields } from "./input-errors.ts";
import { notFoundMessage } from "./not-found.ts";
import { noteUnavailability, unavailability } from "../http/database-unavailable.ts";
import { noteResponseError } from "../http/operations.ts";
import { currentRequest } from "../request-context.ts";

/** Messages safe to show for a SQLSTATE outside the client-input classes (input-errors.ts), in production. */
const PUBLIC_MESSAGES: Record<string, string> = {
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

/** What an anonymous request that the database's grants refuse is told, in every environment. */
export const SIGN_IN_REQUIRED = "Sign in required: this field needs a signed-in user (Authorization: Bearer <token>)";

/** `constraints`: each constraint's columns, filled by constraintColumnsPlugin as the schema is built. */
export function makeErrorMask(
  environment: Environment,
  log = jsonLinesLogger(),
  constraints: ConstraintColumns = new Map(),
): (error: GraphQLError) => GraphQLError | GraphQLFormattedError {
  const production = environment === "production";
  return (error) => {
    const original = error.originalError as (Error & { code?: unknown }) | undefined;
    // For the request's metrics: whether it failed, and the database error's SQLSTATE class.
    noteResponseError(typeof original?.code === "string" && /^[0-9A-Z]{5}$/.test(original.code) ? original.code : undefined);
    if (!original || original instanceof GraphQLError) return error;
    if (isSafeError(original)) return error;
    const request = currentRequest.getStore();
    const requestId = request?.requestId;
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
    // Nobody signed in, and the grants refuse: the client's next step is to sign in, not to ask for rights.
    if (code === "42501" && request?.viewer.kind !== "user") {
      return new GraphQLError(SIGN_IN_REQUIRED, { ...base, extensions: { code: "UNAUTHENTICATED", reason: "sign-in-required", requestId } });
    }
    if (isInputError(code)) {
      const { message, ...where } = describeInputError(code, original as DatabaseErrorFields, error, constraints);
      // Development keeps the database's own words (constraint names and all); production says what is safe.
      return new GraphQLError(production ? message : original.message, { ...base, extensions: { code, ...where, requestId } });
    }
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
