/**
 * Development sign-in: a local RSA key pair (generated once, kept in the
 * git-ignored .data folder) signs tokens for demo users, so a newcomer can use
 * the API without a Clerk account. Only a development server accepts them.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../config.ts";

/** The iss claim of development tokens; it tells the verifier which key to use. */
export const DEV_ISSUER = "https://dev-sign-in.alwrity.local";
export const DEV_KEYS_DIR = path.join(PROJECT_ROOT, ".data", "dev-auth");

export interface DevKeys {
  publicKey: string;
  privateKey: string;
}

/** A fresh key pair of the kind a Clerk instance has: networkless verification expects RSA-2048 (SPKI) and RS256 tokens. */
export function generateClerkKeyPair(): DevKeys {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

export function loadOrCreateDevKeys(dir: string = DEV_KEYS_DIR): DevKeys {
  const publicFile = path.join(dir, "public.pem");
  const privateFile = path.join(dir, "private.pem");
  if (existsSync(publicFile) && existsSync(privateFile)) {
    return { publicKey: readFileSync(publicFile, "utf8"), privateKey: readFileSync(privateFile, "utf8") };
  }
  const keys = generateClerkKeyPair();
  mkdirSync(dir, { recursive: true });
  writeFileSync(privateFile, keys.privateKey, { mode: 0o600 });
  writeFileSync(publicFile, keys.publicKey);
  return keys;
}

export interface TokenClaims {
  sub: string;
  email?: string;
  name?: string;
  iss?: string;
  azp?: string;
  /** Clerk's session-token customisation (public metadata), where ADMIN_CLAIM usually points. */
  metadata?: Record<string, unknown>;
  /** Seconds since the epoch; defaults: now. */
  iat?: number;
  nbf?: number;
  exp?: number;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Signs an RS256 JWT shaped like a Clerk session token. */
export function signToken(privateKey: string, claims: TokenClaims, ttlSeconds = 8 * 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iat: now, nbf: now - 5, exp: now + ttlSeconds, ...claims };
  const input = `${base64url({ alg: "RS256", typ: "JWT", kid: "dev" })}.${base64url(payload)}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

/** A demo user from an email or a name: stable Clerk-style id, email and name. */
export function devIdentity(emailOrName: string): { sub: string; email: string; name: string } {
  const input = emailOrName.trim();
  if (!input) throw new Error("give an email or a name, e.g. `npm run token -- ada@example.com`");
  const email = input.includes("@") ? input.toLowerCase() : undefined;
  const slug = (email ? email.split("@")[0]! : input).toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "user";
  return { sub: `user_dev_${slug}`, email: email ?? `${slug}@dev.alwrity.local`, name: email ? slug : input };
}
