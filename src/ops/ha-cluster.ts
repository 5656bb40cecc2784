/**
 * A local high-availability PostgreSQL 15: one etcd, two Patroni members (a
 * primary and a synchronous standby) and HAProxy in front, routing to the
 * member whose Patroni REST API answers 200 on GET /primary. Failover is
 * Patroni's; nothing here decides who is primary. Every process is started
 * detached with its pid written to `cluster.json` in the cluster's folder, so
 * `npm run ha:down` (another process) stops exactly those and deletes the
 * folder. See docs/high-availability.md.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort, pidAlive } from "../bootstrap/embedded-server.ts";
import { haPrograms, type HaProgram } from "../host/ha-programs.ts";
import { ensurePostgresUserCanReach, osUserIds, runningAsRoot } from "../host/postgres-user-access.ts";

/** Debian's PostgreSQL 15 server programs (package postgresql-15). */
export const PG15_BIN = "/usr/lib/postgresql/15/bin";

/**
 * Patroni's timing. loop_wait is how often each member looks at the cluster:
 * a crashed primary is noticed within it, so it bounds most of the failover
 * time, at the price of one etcd round trip per member per second. ttl is how
 * long the leader key lives without renewal: it only matters when the
 * primary's Patroni itself dies (or is cut off), and a short one fails over
 * sooner on such a loss but also on a pause (GC, a slow disk) of that long.
 * Patroni wants ttl ≥ loop_wait + 2 × retry_timeout.
 */
export const PATRONI_TIMING = { ttl: 10, loop_wait: 1, retry_timeout: 4 } as const;

export interface HaMember {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dataDir: string;
}

/** What `cluster.json` holds: enough to reach, and to stop, everything. */
export interface HaClusterState {
  readonly dir: string;
  readonly scope: string;
  readonly etcdPort: number;
  readonly haproxyPort: number;
  readonly superuserPassword: string;
  readonly members: readonly HaMember[];
  /** Every process started, by what it is (etcd, haproxy, patroni-<member>). */
  readonly pids: Record<string, number>;
}

export interface HaCluster extends HaClusterState {
  /** A superuser URL to the `postgres` database through HAProxy (always the current primary). */
  readonly adminUrl: string;
  /** The member whose Patroni says it is the primary now, if any. */
  primary(): Promise<HaMember | undefined>;
  /** The pid of a member's postmaster, from its postmaster.pid; undefined when it is not running. */
  postmasterPid(member: HaMember): number | undefined;
  stop(): Promise<void>;
}

const STATE_FILE = "cluster.json";
const START_TIMEOUT_MS = 120_000;

/** GET on a Patroni REST endpoint: its status, or 0 when nothing answered within a second. */
export async function patroniStatus(member: HaMember, endpoint: string): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${member.restPort}${endpoint}`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`the high-availability cluster: ${what} did not happen within ${timeoutMs / 1000} s\n${logs()}`);
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? `--- ${path.basename(file)}\n${readFileSync(file, "utf8").split("\n").slice(-lines).join("\n")}` : "";
}

/** Starts `program` detached (it outlives this process until ha:down), its output in `<dir>/<name>.log`. */
function startDetached(dir: string, name: string, program: HaProgram, args: readonly string[], asPostgres: boolean): number {
  const log = openSync(path.join(dir, `${name}.log`), "a");
  const ids = asPostgres && runningAsRoot() ? osUserIds() : undefined;
  const child = spawn(program.command, [...program.leadingArgs, ...args], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", log, log],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...program.env },
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
  });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`the high-availability cluster: could not start ${name} (${program.command})`);
  return child.pid;
}

function patroniConfig(state: Omit<HaClusterState, "pids">, member: HaMember, replicationPassword: string): string {
  const memberDir = path.dirname(member.dataDir);
  const config = {
    scope: state.scope,
    name: member.name,
    log: { level: "INFO" },
    restapi: { listen: `127.0.0.1:${member.restPort}`, connect_address: `127.0.0.1:${member.restPort}` },
    etcd3: { host: `127.0.0.1:${state.etcdPort}` },
    bootstrap: {
      dcs: {
        ...PATRONI_TIMING,
        // No write is acknowledged before the standby has it, so promoting the standby loses none.
        synchronous_mode: true,
        // Strict would stop all writes while the only standby is away (rejoining, rewinding); with
        // two members that turns every failover into an outage until the old primary is back.
        synchronous_mode_strict: false,
        // A crashed postmaster fails over at once instead of being restarted in place (which
        // Patroni tries for 300 s by default): the synchronous standby is ready now.
        primary_start_timeout: 0,
        maximum_lag_on_failover: 1_048_576,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            max_connections: 200,
            shared_preload_libraries: "pg_stat_statements",
            wal_log_hints: "on",
            password_encryption: "scram-sha-256",
          },
        },
      },
      initdb: [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"],
    },
    postgresql: {
      listen: `127.0.0.1:${member.pgPort}`,
      connect_address: `127.0.0.1:${member.pgPort}`,
      data_dir: member.dataDir,
      bin_dir: PG15_BIN,
      pgpass: path.join(memberDir, "pgpass"),
      authentication: {
        superuser: { username: "postgres", password: state.superuserPassword },
        replication: { username: "replicator", password: replicationPassword },
      },
      parameters: { unix_socket_directories: memberDir },
      pg_hba: [
        "local all all trust",
        "host replication replicator 127.0.0.1/32 scram-sha-256",
        "host all all 127.0.0.1/32 scram-sha-256",
      ],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  // YAML is a superset of JSON: Patroni reads this as it is.
  return JSON.stringify(config, null, 2);
}

function haproxyConfig(state: Omit<HaClusterState, "pids">): string {
  return [
    "global",
    "  maxconn 1000",
    "defaults",
    "  mode tcp",
    "  timeout connect 2s",
    "  timeout client 30m",
    "  timeout server 30m",
    "  timeout check 1s",
    "listen postgres_primary",
    `  bind 127.0.0.1:${state.haproxyPort}`,
    // Patroni answers 200 on /primary only on the member holding the leader key.
    "  option httpchk GET /primary",
    "  http-check expect status 200",
    // A member that stops being primary loses its connections at once, so no client keeps writing to it.
    "  default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions",
    ...state.members.map((m) => `  server ${m.name} 127.0.0.1:${m.pgPort} check port ${m.restPort}`),
    "",
  ].join("\n");
}

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  return [
    "--name", "alwrity-ha",
    "--data-dir", path.join(dir, "etcd"),
    "--listen-client-urls", `http://127.0.0.1:${clientPort}`,
    "--advertise-client-urls", `http://127.0.0.1:${clientPort}`,
    "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
    "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
    "--initial-cluster", `alwrity-ha=http://127.0.0.1:${peerPort}`,
  ];
}

function adminUrlOf(state: HaClusterState): string {
  return `postgresql://postgres:${encodeURIComponent(state.superuserPassword)}@127.0.0.1:${state.haproxyPort}/postgres`;
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ recovering: boolean }>("select pg_is_in_recovery() as recovering");
    return rows[0]?.recovering === false;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function clusterOf(state: HaClusterState): HaCluster {
  return {
    ...state,
    adminUrl: adminUrlOf(state),
    async primary() {
      for (const member of state.members) if ((await patroniStatus(member, "/primary")) === 200) return member;
      return undefined;
    },
    postmasterPid(member) {
      const file = path.join(member.dataDir, "postmaster.pid");
      if (!existsSync(file)) return undefined;
      const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
      return pid > 0 && pidAlive(pid) ? pid : undefined;
    },
    stop: () => stopHaCluster(state.dir),
  };
}

/**
 * Brings the cluster up in `dir` (created; must not hold a cluster already):
 * etcd, the first member bootstraps as primary, the second clones it and
 * becomes its synchronous standby, then HAProxy. Resolves once a write
 * through HAProxy reaches the primary. On failure everything started is stopped.
 */
export async function startHaCluster(dir: string): Promise<HaCluster> {
  if (existsSync(path.join(dir, STATE_FILE))) {
    throw new Error(`${dir} already holds a high-availability cluster: stop it first (npm run ha:down)`);
  }
  if (!existsSync(path.join(PG15_BIN, "postgres"))) {
    throw new Error(`the high-availability cluster runs Debian's PostgreSQL 15 from ${PG15_BIN}, which is missing: install Debian's postgresql-15 package (apt-get install postgresql-15)`);
  }
  const programs = haPrograms();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  ensurePostgresUserCanReach([dir, ...(programs.patroni.env.PYTHONPATH?.split(":") ?? [])]);
  const [etcdPort, etcdPeerPort, haproxyPort, ...memberPorts] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const members: HaMember[] = ["node1", "node2"].map((name, i) => ({
    name,
    pgPort: memberPorts[i * 2]!,
    restPort: memberPorts[i * 2 + 1]!,
    dataDir: path.join(dir, name, "data"),
  }));
  const layout = { dir, scope: `alwrity-${randomBytes(3).toString("hex")}`, etcdPort: etcdPort!, haproxyPort: haproxyPort!, superuserPassword: randomBytes(16).toString("hex"), members };
  const replicationPassword = randomBytes(16).toString("hex");
  const pids: Record<string, number> = {};
  const state: HaClusterState = { ...layout, pids };
  const save = () => writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
  const logs = () => ["etcd", ...members.map((m) => `patroni-${m.name}`), "haproxy"].map((name) => tail(path.join(dir, `${name}.log`))).join("\n");
  save();
  try {
    pids.etcd = startDetached(dir, "etcd", programs.etcd, etcdArgs(dir, layout.etcdPort, etcdPeerPort!), false);
    save();
    await waitFor("etcd answering", async () => (await fetch(`http://127.0.0.1:${layout.etcdPort}/health`).then((r) => r.ok).catch(() => false)), 30_000, logs);

    for (const [index, member] of members.entries()) {
      const memberDir = path.dirname(member.dataDir);
      mkdirSync(memberDir, { mode: 0o700 });
      if (runningAsRoot()) {
        const ids = osUserIds();
        chownSync(memberDir, ids.uid, ids.gid);
      }
      const configFile = path.join(dir, `${member.name}.yml`);
      writeFileSync(configFile, patroniConfig(layout, member, replicationPassword), { mode: 0o644 });
      pids[`patroni-${member.name}`] = startDetached(dir, `patroni-${member.name}`, programs.patroni, [configFile], true);
      save();
      // The first bootstraps the cluster; the second must have cloned it and be its synchronous standby.
      const ready = index === 0 ? "/primary" : "/sync";
      await waitFor(`${member.name} answering 200 on ${ready}`, async () => (await patroniStatus(member, ready)) === 200, START_TIMEOUT_MS, logs);
    }

    const haproxyFile = path.join(dir, "haproxy.cfg");
    writeFileSync(haproxyFile, haproxyConfig(layout));
    pids.haproxy = startDetached(dir, "haproxy", programs.haproxy, ["-db", "-f", haproxyFile], false);
    save();
    await waitFor("the primary answering through HAProxy", () => canQuery(adminUrlOf(state)), 30_000, logs);
    return clusterOf(state);
  } catch (error) {
    await stopHaCluster(dir).catch(() => undefined);
    throw error;
  }
}

/** The running cluster described by `<dir>/cluster.json`. */
export function openHaCluster(dir: string): HaCluster {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) throw new Error(`no high-availability cluster in ${dir} (no ${STATE_FILE}): start one with npm run ha:up`);
  return clusterOf(JSON.parse(readFileSync(file, "utf8")) as HaClusterState);
}

async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive) && Date.now() < deadline) await sleep(100);
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stops every process the cluster in `dir` started and deletes the folder.
 * Patroni first (SIGTERM: it stops its PostgreSQL cleanly), then HAProxy and
 * etcd; whatever has not exited after a grace period, postmasters included,
 * gets SIGKILL. Nothing else is touched: only the recorded pids and the
 * postmasters named in the members' own postmaster.pid files.
 */
export async function stopHaCluster(dir: string): Promise<void> {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    return;
  }
  const state = JSON.parse(readFileSync(file, "utf8")) as HaClusterState;
  const cluster = clusterOf(state);
  const postmasters = () => state.members.map((m) => cluster.postmasterPid(m)).filter((pid): pid is number => pid !== undefined);
  const patronis = Object.entries(state.pids).filter(([name]) => name.startsWith("patroni-")).map(([, pid]) => pid);
  signal(patronis, "SIGTERM");
  await waitForExit([...patronis, ...postmasters()], 20_000);
  signal([...patronis, ...postmasters()], "SIGKILL");
  const others = Object.entries(state.pids).filter(([name]) => !name.startsWith("patroni-")).map(([, pid]) => pid);
  signal(others, "SIGTERM");
  await waitForExit(others, 10_000);
  signal(others, "SIGKILL");
  await waitForExit([...patronis, ...others, ...postmasters()], 5_000);
  rmSync(dir, { recursive: true, force: true });
}
