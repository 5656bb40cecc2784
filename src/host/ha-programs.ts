/**
 * The programs of the local high-availability stack: etcd (the consensus store
 * Patroni keeps its leader key in), Patroni (runs PostgreSQL and decides
 * failover) and HAProxy (routes to whichever member Patroni says is primary).
 * Each is the system's when installed, or else Debian's package unpacked into
 * the project's cache like pgTAP and PgBouncer (see debian-package.ts), so
 * `npm run ha:up` and `npm run test:ha` need no manual install.
 *
 * Patroni is Python: its package and the Python packages it depends on (as
 * `apt-cache depends patroni` lists them for the etcd3 store) are unpacked side
 * by side and put on PYTHONPATH for Debian's own /usr/bin/python3, the
 * interpreter those packages (two with compiled modules) are built for.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DebianPackageError, sharedLibraryFolders, unpackedDebianPackage } from "./debian-package.ts";

/** A program to spawn: the command, the arguments before the program's own, and its environment additions. */
export interface HaProgram {
  readonly command: string;
  readonly leadingArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface HaPrograms {
  readonly etcd: HaProgram;
  readonly patroni: HaProgram;
  readonly haproxy: HaProgram;
}

const PURPOSE = "the high-availability cluster";

/** Debian's interpreter: the unpacked psycopg2 and psutil are compiled for its ABI (not pyenv's or another python3 on PATH). */
const DEBIAN_PYTHON = "/usr/bin/python3";

/**
 * Patroni's Python dependencies in Debian 12 (`apt-cache depends patroni`, with
 * python3-etcd chosen among the stores, and their own dependencies). Some are
 * often installed already; unpacking them too keeps a minimal Debian working.
 */
const PATRONI_PYTHON_PACKAGES = [
  "patroni",
  "python3-cdiff",
  "python3-click",
  "python3-colorama",
  "python3-dateutil",
  "python3-six",
  "python3-pkg-resources",
  "python3-prettytable",
  "python3-wcwidth",
  "python3-psutil",
  "python3-urllib3",
  "python3-yaml",
  "python3-psycopg2",
  "python3-etcd",
  "python3-dnspython",
];

/** HAProxy's libraries that a minimal Debian lacks (the rest, libssl, libpcre2, libc, …, are always there). */
const HAPROXY_LIBRARY_PACKAGES = ["liblua5.3-0", "libopentracing-c-wrapper0", "libopentracing1"];

function etcd(): HaProgram {
  if (existsSync("/usr/bin/etcd")) return { command: "/usr/bin/etcd", leadingArgs: [], env: {} };
  return { command: path.join(unpackedDebianPackage("etcd-server", PURPOSE), "usr", "bin", "etcd"), leadingArgs: [], env: {} };
}

function haproxy(): HaProgram {
  if (existsSync("/usr/sbin/haproxy")) return { command: "/usr/sbin/haproxy", leadingArgs: [], env: {} };
  const root = unpackedDebianPackage("haproxy", PURPOSE);
  const libraries = HAPROXY_LIBRARY_PACKAGES.flatMap((name) => sharedLibraryFolders(unpackedDebianPackage(name, PURPOSE)));
  return { command: path.join(root, "usr", "sbin", "haproxy"), leadingArgs: [], env: { LD_LIBRARY_PATH: libraries.join(":") } };
}

function patroni(): HaProgram {
  if (!existsSync(DEBIAN_PYTHON)) {
    throw new DebianPackageError(`${PURPOSE} runs Patroni with Debian's Python, and ${DEBIAN_PYTHON} is missing: install Debian's python3 package (apt-get install python3)`);
  }
  if (existsSync("/usr/lib/python3/dist-packages/patroni")) return { command: DEBIAN_PYTHON, leadingArgs: ["-m", "patroni"], env: {} };
  const sitePackages = PATRONI_PYTHON_PACKAGES.map((name) => path.join(unpackedDebianPackage(name, PURPOSE), "usr", "lib", "python3", "dist-packages")).filter((folder) =>
    existsSync(folder),
  );
  return { command: DEBIAN_PYTHON, leadingArgs: ["-m", "patroni"], env: { PYTHONPATH: sitePackages.join(":"), PYTHONDONTWRITEBYTECODE: "1" } };
}

/** etcd, Patroni and HAProxy, fetched on first use. */
export function haPrograms(): HaPrograms {
  return { etcd: etcd(), patroni: patroni(), haproxy: haproxy() };
}
