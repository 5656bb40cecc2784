/**
 * A throw-away PostgreSQL 15 cluster of the test's own: initdb from Debian's
 * /usr/lib/postgresql/15/bin into a temporary folder, on a free port of
 * 127.0.0.1 and a socket folder of its own, run as the postgres OS user when
 * the test runs as root (PostgreSQL refuses root). Nothing root-owned is
 * configured and the shared server on 5432 is never touched; destroy()
 * stops it and deletes every file.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../../src/bootstrap/embedded-server.ts";
import { connect } from "./connect.ts";

const BIN = "/usr/lib/postgresql/15/bin";

export interface Pg15Cluster {
  /** The temporary folder holding everything (data/, sock/, and whatever the test adds with folder()). */
  readonly base: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly port: number;
  readonly url: string;
  /** Runs a program as the cluster's OS user; throws with its output when it fails. */
  run(program: string, args: readonly string[], env?: Record<string, string>): string;
  /** A folder under base owned by the cluster's OS user. */
  folder(name: string): string;
  /** Appends lines to postgresql.conf. */
  configure(lines: readonly string[]): void;
  start(): void;
  stop(mode?: "fast" | "immediate"): void;
  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  destroy(): void;
}

function osUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root, and there is no postgres OS user to run PostgreSQL 15 as");
  return { uid, gid: id("-g") };
}

export async function createPg15Cluster(): Promise<Pg15Cluster> {
  if (!existsSync(path.join(BIN, "initdb"))) throw new Error(`these tests need PostgreSQL 15's server programs in ${BIN} (Debian's postgresql-15)`);
  const user = osUser();
  const base = mkdtempSync(path.join(tmpdir(), "alwrity-pg15-"));
  const own = (p: string) => user && chownSync(p, user.uid, user.gid);
  own(base);
  const folder = (name: string) => {
    const p = path.join(base, name);
    mkdirSync(p, { recursive: true });
    own(p);
    return p;
  };
  const dataDir = path.join(base, "data");
  const socketDir = folder("sock");
  const port = await freePort();
  let running = false;

  const run = (program: string, args: readonly string[], env: Record<string, string> = {}) => {
    const result = spawnSync(program.includes("/") ? program : path.join(BIN, program), args, {
      encoding: "utf8",
      cwd: base,
      env: { PATH: process.env.PATH ?? "", ...env },
      ...(user ?? {}),
      timeout: 180_000,
    });
    if (result.error || result.status !== 0) {
      throw new Error(`${path.basename(program)} ${args.join(" ")} failed: ${result.error?.message ?? ""}${result.stderr}${result.stdout}`);
    }
    return result.stdout;
  };

  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const configure = (lines: readonly string[]) => appendFileSync(path.join(dataDir, "postgresql.conf"), `\n${lines.join("\n")}\n`);
  configure([`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${socketDir}'`]);

  const cluster: Pg15Cluster = {
    base,
    dataDir,
    socketDir,
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    run,
    folder,
    configure,
    start() {
      run("pg_ctl", ["-D", dataDir, "-l", path.join(base, "server.log"), "-w", "-t", "120", "start"]);
      running = true;
    },
    stop(mode = "fast") {
      run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "stop"]);
      running = false;
    },
    query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
      return connect(cluster.url, async (client) => (await client.query<T>(sql, values)).rows);
    },
    destroy() {
      if (running) {
        try {
          cluster.stop("immediate");
        } catch {
          // already gone; the files go anyway
        }
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  return cluster;
}
