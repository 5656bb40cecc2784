/**
 * PostgreSQL's own client programs (pg_dump, pg_restore) of a version that
 * can work with a given server: pg_dump refuses servers newer than itself,
 * and pg_restore reads only archives written by its own version or older.
 * Looked for where Debian installs them (/usr/lib/postgresql/<major>/bin),
 * else fetched as Debian's postgresql-client-<major> (and libpq5) into the
 * project's cache (debian-package.ts), never installed into the system.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { DebianPackageError, sharedLibraryFolders, unpackedDebianPackage } from "./debian-package.ts";

const SYSTEM_ROOT = "/usr/lib/postgresql";

export interface PostgresTools {
  readonly major: number;
  /** The folder holding pg_dump, pg_restore, psql. */
  readonly bin: string;
  /** Environment additions the programs need (LD_LIBRARY_PATH for a fetched libpq). */
  readonly env: Record<string, string>;
  /** `pg_dump --version`'s answer. */
  readonly version: string;
}

export class NoMatchingToolsError extends Error {
  override name = "NoMatchingToolsError";
}

/** The major version of a server, from `server_version_num` (150020 → 15). */
export function majorOf(serverVersionNum: number): number {
  return Math.floor(serverVersionNum / 10_000);
}

/**
 * Client programs of major version `atLeast` or newer: the same major if it
 * is installed or Debian has it, else the nearest newer one installed.
 * `purpose` starts the error messages ("alwrity db backup").
 */
export function postgresTools(atLeast: number, purpose: string): PostgresTools {
  const installed = installedMajors();
  const exact = installed.find((major) => major === atLeast);
  if (exact !== undefined) return describeTools(exact, path.join(SYSTEM_ROOT, String(exact), "bin"), {});
  let fetchFailure: string | undefined;
  try {
    const client = unpackedDebianPackage(`postgresql-client-${atLeast}`, purpose);
    const libpq = unpackedDebianPackage("libpq5", purpose);
    const bin = path.join(client, "usr", "lib", "postgresql", String(atLeast), "bin");
    if (existsSync(path.join(bin, "pg_dump"))) return describeTools(atLeast, bin, { LD_LIBRARY_PATH: sharedLibraryFolders(libpq).join(":") });
    fetchFailure = `Debian's postgresql-client-${atLeast} holds no ${bin}`;
  } catch (error) {
    if (!(error instanceof DebianPackageError)) throw error;
    fetchFailure = error.message;
  }
  const newer = installed.find((major) => major > atLeast);
  if (newer !== undefined) return describeTools(newer, path.join(SYSTEM_ROOT, String(newer), "bin"), {});
  throw new NoMatchingToolsError(
    `${purpose} needs pg_dump and pg_restore of PostgreSQL ${atLeast} or newer, and none is available here ` +
      `(${installed.length > 0 ? `${SYSTEM_ROOT} has ${installed.join(", ")}` : `nothing in ${SYSTEM_ROOT}`}; ${fetchFailure}). ` +
      `Instead: install PostgreSQL ${atLeast}'s client programs (apt.postgresql.org has postgresql-client-${atLeast}) and run it again, ` +
      `or run it against a server whose version has client programs here, ` +
      `or on a managed service use the provider's snapshots and point-in-time recovery (see docs/operations.md, "Backups and restore").`,
  );
}

function installedMajors(): number[] {
  if (!existsSync(SYSTEM_ROOT)) return [];
  return readdirSync(SYSTEM_ROOT)
    .filter((name) => /^\d+$/.test(name) && existsSync(path.join(SYSTEM_ROOT, name, "bin", "pg_dump")) && existsSync(path.join(SYSTEM_ROOT, name, "bin", "pg_restore")))
    .map(Number)
    .sort((a, b) => a - b);
}

function describeTools(major: number, bin: string, env: Record<string, string>): PostgresTools {
  const probe = spawnSync(path.join(bin, "pg_dump"), ["--version"], { encoding: "utf8", env: { ...process.env, ...env } });
  if (probe.error || probe.status !== 0) {
    throw new NoMatchingToolsError(`${path.join(bin, "pg_dump")} does not run: ${probe.error?.message ?? probe.stderr.trim()}`);
  }
  return { major, bin, env, version: probe.stdout.trim() };
}

/**
 * A libpq connection for the programs: the URL without its password, which
 * goes in PGPASSWORD instead (a command line is visible to every user of the
 * machine in `ps`).
 */
export function programConnection(serverUrl: string, database: string): { dbname: string; env: Record<string, string> } {
  const url = new URL(onDatabase(serverUrl, database));
  const password = decodeURIComponent(url.password);
  url.password = "";
  return { dbname: url.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** Runs one of the programs; rejects with its last lines of stderr when it fails. */
export function runProgram(tools: PostgresTools, program: string, args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(tools.bin, program), args, { env: { ...process.env, ...tools.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) return resolve(stdout);
      const lines = stderr.trim().split("\n").slice(-5).join("\n");
      reject(new Error(`${program} failed (${signal ?? `exit code ${code}`}): ${lines}`));
    });
  });
}

/** The same server and login, another database. */
export function onDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}
