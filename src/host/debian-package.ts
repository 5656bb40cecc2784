/**
 * Files from Debian packages without installing them. A few things the project
 * needs come only as Debian packages (pgTAP's SQL for the tests, `setfacl` for
 * an embedded server below a root-only folder); rather than asking a newcomer
 * to install them by hand, `apt-get download` fetches the .deb and `dpkg-deb -x`
 * unpacks it into a cache under node_modules/.cache, which `npm ci` clears.
 * Nothing is installed into the system; the only system change is refreshing
 * apt's package lists when they are empty, and only as root.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { userInfo } from "node:os";
import { PROJECT_ROOT } from "../config.ts";

export const DEBIAN_CACHE = path.join(PROJECT_ROOT, "node_modules", ".cache", "alwrity-debian");

export class DebianPackageError extends Error {}

function run(command: string, args: readonly string[], cwd?: string) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  return { ok: !result.error && result.status === 0, output: `${result.stderr ?? ""}${result.stdout ?? ""}`.trim(), missing: (result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT" };
}

function requireDebianTools(purpose: string, packageName: string): void {
  if (run("apt-get", ["--version"]).missing || run("dpkg-deb", ["--version"]).missing) {
    throw new DebianPackageError(
      `${purpose} needs files from Debian's ${packageName} package, and this machine has no apt-get/dpkg-deb to fetch it: install the equivalent package with your system's package manager`,
    );
  }
}

/** Runs `fn`; when apt's lists do not know a package yet, refreshes them once (as root) and runs it again. */
function withPackageLists<T>(purpose: string, packageName: string, fn: () => T | undefined): T {
  const first = fn();
  if (first !== undefined) return first;
  if (userInfo().uid !== 0) {
    throw new DebianPackageError(
      `${purpose} needs Debian's ${packageName} package, which apt's package lists do not know: run \`apt-get update\` as root (or install ${packageName}), then try again`,
    );
  }
  const update = run("apt-get", ["update"]);
  if (!update.ok) throw new DebianPackageError(`${purpose}: \`apt-get update\` failed while looking for ${packageName}: ${update.output.split("\n").slice(-3).join(" ")}`);
  const again = fn();
  if (again === undefined) throw new DebianPackageError(`${purpose}: Debian has no package ${packageName} for this release`);
  return again;
}

/**
 * The newest package whose name matches `pattern` (a regular expression for
 * `apt-cache search --names-only`), ordered by the first number in the name.
 */
export function newestDebianPackage(pattern: string, purpose: string, describe: string): string {
  requireDebianTools(purpose, describe);
  return withPackageLists(purpose, describe, () => {
    const names = run("apt-cache", ["search", "--names-only", pattern])
      .output.split("\n")
      .map((line) => line.split(" ")[0])
      .filter((name): name is string => Boolean(name) && new RegExp(pattern).test(name!));
    const number = (name: string) => Number(/\d+/.exec(name)?.[0] ?? 0);
    return names.sort((a, b) => number(b) - number(a))[0];
  });
}

/**
 * The folder holding `packageName`'s files, unpacked (as `dpkg-deb -x` lays
 * them out: usr/, bin/, …), fetched on first use and cached afterwards.
 */
export function unpackedDebianPackage(packageName: string, purpose: string): string {
  const target = path.join(DEBIAN_CACHE, packageName);
  if (existsSync(target)) return target;
  requireDebianTools(purpose, packageName);
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  const work = mkdtempSync(path.join(DEBIAN_CACHE, `.${packageName}-`));
  try {
    const deb = withPackageLists(purpose, packageName, () => {
      const download = run("apt-get", ["download", packageName], work);
      if (!download.ok && !/unable to locate|no installation candidate|can't select/i.test(download.output)) {
        throw new DebianPackageError(`${purpose}: \`apt-get download ${packageName}\` failed: ${download.output.split("\n").slice(-3).join(" ")}`);
      }
      return readdirSync(work).find((file) => file.endsWith(".deb"));
    });
    const unpacked = path.join(work, "root");
    const extract = run("dpkg-deb", ["-x", path.join(work, deb), unpacked]);
    if (!extract.ok) throw new DebianPackageError(`${purpose}: could not unpack ${deb}: ${extract.output}`);
    try {
      renameSync(unpacked, target);
    } catch (error) {
      // Another process unpacked the same package meanwhile; either copy will do.
      if (!existsSync(target)) throw error;
    }
    process.stderr.write(`${purpose}: fetched Debian's ${packageName} into ${path.relative(PROJECT_ROOT, target)} (nothing installed)\n`);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The folders of an unpacked package that hold shared libraries (usr/lib, lib and their <triplet> folders), for LD_LIBRARY_PATH. */
export function sharedLibraryFolders(root: string): string[] {
  return [path.join(root, "usr", "lib"), path.join(root, "lib")]
    .filter((folder) => existsSync(folder))
    .flatMap((folder) => [folder, ...readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.includes("-linux-")).map((e) => path.join(folder, e.name))]);
}
