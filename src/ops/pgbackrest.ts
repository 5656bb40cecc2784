/**
 * pgBackRest, for point-in-time recovery of a self-hosted server: Debian's
 * `pgbackrest` package unpacked into the project's cache (debian-package.ts),
 * with the shared libraries it links against fetched the same way when the
 * machine lacks them (found with ldd, fetched from the package's library
 * dependencies). Nothing is installed into the system.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { DebianPackageError, sharedLibraryFolders, unpackedDebianPackage } from "../host/debian-package.ts";

const PACKAGE = "pgbackrest";

export interface PgBackRest {
  /** The program, runnable by any OS user (the server runs it as archive_command). */
  readonly bin: string;
  /** LD_LIBRARY_PATH when libraries had to be fetched; else empty. */
  readonly env: Record<string, string>;
  /** `pgbackrest version`'s answer. */
  readonly version: string;
  /** The program with its environment, as one shell word list for archive_command. */
  readonly command: string;
}

export function pgBackRest(purpose: string): PgBackRest {
  const root = unpackedDebianPackage(PACKAGE, purpose);
  const bin = path.join(root, "usr", "bin", "pgbackrest");
  let env: Record<string, string> = {};
  let missing = missingLibraries(bin, env);
  if (missing.length > 0) {
    const folders = libraryDependencies().flatMap((name) => sharedLibraryFolders(unpackedDebianPackage(name, purpose)));
    env = { LD_LIBRARY_PATH: folders.join(":") };
    missing = missingLibraries(bin, env);
    if (missing.length > 0) throw new DebianPackageError(`${purpose}: pgbackrest still lacks ${missing.join(", ")} after fetching its library packages; install them with the system's package manager`);
  }
  const probe = spawnSync(bin, ["version"], { encoding: "utf8", env: { ...process.env, ...env } });
  if (probe.error || probe.status !== 0) throw new DebianPackageError(`${purpose}: ${bin} does not run: ${probe.error?.message ?? probe.stderr.trim()}`);
  const command = env.LD_LIBRARY_PATH ? `env LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH} ${bin}` : bin;
  return { bin, env, version: probe.stdout.trim(), command };
}

/** The shared libraries ldd cannot find for `bin`. */
function missingLibraries(bin: string, env: Record<string, string>): string[] {
  const ldd = spawnSync("ldd", [bin], { encoding: "utf8", env: { ...process.env, ...env } });
  if (ldd.error) return []; // no ldd: the version probe below says whether it runs
  return [...ldd.stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
}

/** The library packages pgbackrest depends on (libpq5, libssl3, …), as apt knows them. */
function libraryDependencies(): string[] {
  const depends = spawnSync("apt-cache", ["depends", PACKAGE], { encoding: "utf8" });
  return [...(depends.stdout ?? "").matchAll(/^\s*Depends: (lib\S+|zlib\S+)$/gm)].map((m) => m[1]!).filter((name) => name !== "libc6");
}
