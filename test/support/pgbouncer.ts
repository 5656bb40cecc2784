/**
 * A real PgBouncer in transaction mode in front of the test deployment, on a
 * free port, for tests that prove the API works through a pooler. Debian's
 * pgbouncer (1.18: no protocol-level prepared statements in transaction mode)
 * is used when installed, or else fetched with the libraries it needs into the
 * project's cache (src/host/debian-package.ts), so `npm test` needs no
 * manual step. PgBouncer refuses to run as root; as root it runs as the
 * `postgres` OS user, like the embedded server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { unpackedDebianPackage } from "../../src/host/debian-package.ts";
import { freePort } from "../../src/bootstrap/embedded-server.ts";
import { POSTGRES_OS_USER, runningAsRoot } from "../../src/host/postgres-user-access.ts";

const PURPOSE = "the PgBouncer tests";

export interface Pgbouncer {
  readonly port: number;
  /** `url` with its host and port replaced by PgBouncer's (same database name, login and password). */
  through(url: string): string;
  /** CPU seconds (user + system) PgBouncer's process has used so far (from /proc; benchmarks compare it with the API's). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The pgbouncer command and the library folders it needs on LD_LIBRARY_PATH. */
function pgbouncerCommand(): { command: string; libraryPath: string[] } {
  if (existsSync("/usr/sbin/pgbouncer")) return { command: "/usr/sbin/pgbouncer", libraryPath: [] };
  const root = unpackedDebianPackage("pgbouncer", PURPOSE);
  // Its libraries that a minimal Debian lacks; the rest (libssl, libc, …) are always there.
  const libraryPath = ["libc-ares2", "libevent-2.1-7"].flatMap((pkg) => {
    const lib = path.join(unpackedDebianPackage(pkg, PURPOSE), "usr", "lib");
    return existsSync(lib) ? readdirSync(lib).filter((d) => d.endsWith("-linux-gnu")).map((d) => path.join(lib, d)) : [];
  });
  return { command: path.join(root, "usr", "sbin", "pgbouncer"), libraryPath };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts PgBouncer in transaction mode for `urls` (each a login to one database
 * of one server); every login and database of them is served.
 */
export async function startPgbouncer(urls: readonly string[], poolSize = 10): Promise<Pgbouncer> {
  const { command, libraryPath } = pgbouncerCommand();
  const dir = mkdtempSync(path.join(tmpdir(), "alwrity-pgbouncer-"));
  chmodSync(dir, 0o777); // PgBouncer (the postgres OS user, as root) writes its log and pid file here
  const port = await freePort();
  const parsed = urls.map((u) => new URL(u));
  const databases = [...new Map(parsed.map((u) => [u.pathname.slice(1), `${u.pathname.slice(1)} = host=${u.hostname} port=${u.port || 5432} dbname=${u.pathname.slice(1)}`])).values()];
  const users = [...new Map(parsed.map((u) => [decodeURIComponent(u.username), `"${decodeURIComponent(u.username)}" "${decodeURIComponent(u.password)}"`])).values()];
  writeFileSync(path.join(dir, "users.txt"), `${users.join("\n")}\n`, { mode: 0o644 });
  writeFileSync(
    path.join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      ...databases,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${path.join(dir, "users.txt")}`,
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "max_client_conn = 500",
      // The API sends these as startup parameters; PgBouncer must let them through.
      "ignore_startup_parameters = extra_float_digits,options,application_name",
      `logfile = ${path.join(dir, "pgbouncer.log")}`,
      `pidfile = ${path.join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const env = { ...process.env, LD_LIBRARY_PATH: [...libraryPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
  const args = [command, path.join(dir, "pgbouncer.ini")];
  let child: ChildProcess;
  if (runningAsRoot()) {
    // runuser drops LD_LIBRARY_PATH for safety; env(1) sets it again inside.
    child = spawn("runuser", ["-u", POSTGRES_OS_USER, "--", "env", `LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  } else {
    child = spawn(args[0]!, args.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
  }
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const pidFile = path.join(dir, "pgbouncer.pid");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM is PgBouncer's immediate shutdown (SIGINT waits for clients). Sent to
      // PgBouncer itself: runuser, its parent as root, does not pass signals on.
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined;
      if (pid) process.kill(pid, "SIGTERM");
      else child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (await listening(port)) {
      return {
        port,
        through(url) {
          const u = new URL(url);
          u.hostname = "127.0.0.1";
          u.port = String(port);
          return u.toString();
        },
        cpuSeconds() {
          return processCpuSeconds(Number(readFileSync(pidFile, "utf8").trim()));
        },
        stop,
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const logFile = path.join(dir, "pgbouncer.log");
  const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
  await stop();
  throw new Error(`PgBouncer did not start on port ${port}:\n${output}\n${log}`);
}

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat, after the command's closing parenthesis). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
