/**
 * Verifies bearer tokens as Clerk session tokens with Clerk's own SDK. A
 * development server also accepts tokens from the development sign-in (see
 * dev-keys.ts), recognised by their issuer and verified with the local key.
 */
import { verifyToken } from "@clerk/backend";
import { TokenVerificationError } from "@clerk/backend/errors";
import type { AdminClaim, ClerkSettings } from "../../config.ts";
import { DEV_ISSUER } from "./dev-keys.ts";

export interface Identity {
  /** The Clerk user id (the token's subject). */
  clerkId: string;
  email: string | undefined;
  name: string | undefined;
  /** The verified token carries the admin claim (ADMIN_CLAIM): its holder may act as the platform admin on the admin paths. */
  admin: boolean;
}

/** A request whose token was refused: answered with HTTP 401 and this reason. */
export class AuthError extends Error {
  readonly reason: string;
  constructor(reason: string, message = "invalid bearer token") {
    super(message);
    this.name = "AuthError";
    this.reason = reason;
  }
}

/** The form platform.users.clerk_id accepts. */
const CLERK_ID = /^[A-Za-z0-9_-]{1,255}$/;

export type TokenVerifier = (token: string) => Promise<Identity>;

function unverifiedIssuer(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { iss?: unknown };
    return typeof payload.iss === "string" ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}

/** Whether verified claims hold the admin claim: the value at its dotted path, exactly (a string, or one of an array's strings). */
export function holdsAdminClaim(claims: Record<string, unknown>, adminClaim: AdminClaim | undefined): boolean {
  if (!adminClaim) return false;
  let value: unknown = claims;
  for (const key of adminClaim.path) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, key)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  return value === adminClaim.value || (Array.isArray(value) && value.includes(adminClaim.value));
}

/** Tokens kept verified at most; the oldest goes first. */
const CACHE_MAX = 10_000;

/**
 * A client sends the same session token with every request until it expires
 * (a minute, for Clerk). Verifying an RS256 signature costs about a tenth of
 * an API request, so a token that verified is remembered, by its exact text,
 * until its own exp: the answer for it cannot change before then.
 */
export function cachingVerifier(verify: (token: string) => Promise<Identity & { expiresAt: number }>): TokenVerifier {
  const cache = new Map<string, Identity & { expiresAt: number }>();
  return async (token) => {
    const known = cache.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    if (known) cache.delete(token);
    const verified = await verify(token);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(token, verified);
    return verified;
  };
}

export function createTokenVerifier(clerk: ClerkSettings, devPublicKey: string | undefined): TokenVerifier {
  const clerkConfigured = Boolean(clerk.jwtKey || clerk.secretKey);
  return cachingVerifier(async (token) => {
    if (token.split(".").length !== 3) throw new AuthError("token-invalid", "the bearer token is not a JWT");
    // The issuer only picks the key; the signature check below is what counts.
    const dev = devPublicKey !== undefined && unverifiedIssuer(token) === DEV_ISSUER;
    if (!dev && !clerkConfigured) {
      throw new AuthError("token-verification-unconfigured", "this server has no Clerk key (CLERK_JWT_KEY or CLERK_SECRET_KEY)");
    }
    let claims: Record<string, unknown>;
    try {
      claims = (await verifyToken(
        token,
        dev
          ? { jwtKey: devPublicKey, issuer: DEV_ISSUER }
          : {
              jwtKey: clerk.jwtKey,
              secretKey: clerk.secretKey,
              authorizedParties: clerk.authorizedParties.length ? clerk.authorizedParties : undefined,
              issuer: clerk.issuer,
            },
      )) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TokenVerificationError) throw new AuthError(error.reason, error.message);
      throw error;
    }
    const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const clerkId = claims.sub as string;
    if (!CLERK_ID.test(clerkId)) throw new AuthError("token-invalid-subject", "the token's subject is not a Clerk user id");
    // verifyToken requires exp, so this is the token's own expiry. A token valid for longer than
    // CLERK_MAX_TOKEN_LIFETIME (from its iat, or from now without one) is refused: a leaked
    // long-lived token would be a key that cannot be revoked.
    const exp = Number(claims.exp);
    const issuedAt = typeof claims.iat === "number" ? Math.min(claims.iat, Date.now() / 1000) : Date.now() / 1000;
    if (exp - issuedAt > clerk.maxTokenLifetimeSeconds) {
      throw new AuthError("token-lifetime-too-long", `the token is valid for longer than ${clerk.maxTokenLifetimeSeconds} s (CLERK_MAX_TOKEN_LIFETIME)`);
    }
    return {
      clerkId,
      email: text(claims.email),
      name: text(claims.name),
      admin: holdsAdminClaim(claims, clerk.adminClaim),
      expiresAt: Number(claims.exp) * 1000,
    };
  });
}
