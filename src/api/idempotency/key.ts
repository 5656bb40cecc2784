/**
 * The Idempotency-Key header (the IETF httpapi draft, as Stripe uses it):
 * what a valid key is, the hash that tells one request from another under the
 * same key, and the refusals with their stable codes (docs/retries.md).
 */
import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";

// The package is CommonJS (module.exports = the function) while its types declare an ES default export:
// node's ESM loader hands over the function, which the types do not see.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Set on an answer that was stored by an earlier request with the same key and body. */
export const REPLAYED_HEADER = "idempotent-replayed";

/** Printable ASCII without spaces at either end, 1 to 255 characters: a UUID fits, so does any client's counter. */
const KEY_FORM = /^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$/;

export type IdempotencyCode =
  /** The header is malformed, repeated, or sent with a method other than POST (400). */
  | "IDEMPOTENCY_KEY_INVALID"
  /** A key without a signed-in user: keys are stored per user (400). */
  | "IDEMPOTENCY_KEY_NEEDS_SIGN_IN"
  /** The first request with this key is still running (409): retry after it. */
  | "IDEMPOTENCY_KEY_IN_USE"
  /** The key was used for a different request (422): a new request needs a new key. */
  | "IDEMPOTENCY_KEY_REUSED"
  /** A GraphQL request with a key used both databases (422): send its parts as separate requests. */
  | "IDEMPOTENCY_KEY_TWO_DATABASES";

export class IdempotencyError extends Error {
  override name = "IdempotencyError";
  readonly code: IdempotencyCode;
  readonly statusCode: number;
  constructor(code: IdempotencyCode, statusCode: number, message: string) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
  }
}

/**
 * The key of a request, undefined when it sent none, or the refusal. Only POST
 * takes one: GET is safe to repeat, and the draft is for methods that are not.
 */
export function idempotencyKeyOf(method: string | undefined, header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new IdempotencyError("IDEMPOTENCY_KEY_INVALID", 400, "send the Idempotency-Key header once");
  if (method !== "POST") throw new IdempotencyError("IDEMPOTENCY_KEY_INVALID", 400, `Idempotency-Key is taken on POST requests only, not ${method}`);
  if (!KEY_FORM.test(header)) {
    throw new IdempotencyError("IDEMPOTENCY_KEY_INVALID", 400, "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID");
  }
  return header;
}

export function needsSignIn(): IdempotencyError {
  return new IdempotencyError("IDEMPOTENCY_KEY_NEEDS_SIGN_IN", 400, "Idempotency-Key needs a signed-in user (Authorization: Bearer <token>): keys are kept per user");
}

export function keyInUse(): IdempotencyError {
  return new IdempotencyError("IDEMPOTENCY_KEY_IN_USE", 409, "a request with this Idempotency-Key is still running; retry after it has been answered");
}

export function keyReused(): IdempotencyError {
  return new IdempotencyError(
    "IDEMPOTENCY_KEY_REUSED",
    422,
    "this Idempotency-Key was already used for a different request (another body); use a new key for a new request",
  );
}

/**
 * SHA-256 of the request in canonical JSON (RFC 8785: keys sorted, one
 * spelling per number): the same operation and variables hash the same
 * however the client ordered or spaced them. A body that is not JSON is
 * hashed as it is.
 */
export function requestHash(body: string, route: string): string {
  let canonical: string;
  try {
    canonical = canonicalize(JSON.parse(body) as object) ?? body;
  } catch {
    canonical = body;
  }
  return createHash("sha256").update(`${route}\n${canonical}`).digest("hex");
}
