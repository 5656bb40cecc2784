/**
 * Passwords for the login roles of a locally provisioned deployment. For a
 * persistent development database they are generated once and kept in a file
 * beside the data directory (git-ignored, readable by its owner only), so a
 * restart reuses them; for throw-away servers they live in memory only.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Credentials {
  /** The embedded server's superuser (`postgres`). */
  superuser: string;
  owner: string;
  authenticator: string;
}

const KEYS = ["superuser", "owner", "authenticator"] as const;

export function randomPassword(): string {
  return randomBytes(24).toString("base64url");
}

export function generateCredentials(): Credentials {
  return { superuser: randomPassword(), owner: randomPassword(), authenticator: randomPassword() };
}

export function loadOrCreateCredentials(file: string | null): Credentials {
  if (file === null) return generateCredentials();
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<Credentials>;
    if (KEYS.every((k) => typeof parsed[k] === "string" && parsed[k] !== "")) return parsed as Credentials;
    throw new Error(`${file} is not a valid credentials file (expected ${KEYS.join(", ")}); remove it together with the data directory to start afresh`);
  }
  const created = generateCredentials();
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(created, null, 2) + "\n", { mode: 0o600 });
  return created;
}
