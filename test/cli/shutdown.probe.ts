/**
 * Shutdown of `npm start` as an operator (or an orchestrator) does it: SIGTERM
 * to the npm process. In-flight requests complete, a new request on a kept-alive
 * connection is refused, everything exits 0 within the deadline, and no
 * process is left behind (npm, node, the embedded PostgreSQL: checked by PID).
 * A request that outlives SHUTDOWN_TIMEOUT is cut off and the exit still comes.
 * The three starts share one data directory: the first makes the cluster and
 * migrates it, the later ones start the same cluster again (as a developer's
 * second `npm start` does), which spares two cluster creations.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../../src/api/auth/dev-keys.ts";

const parent = mkdtempSync(path.join(tmpdir(), "alwrity-shutdown-"));
chmodSync(parent, 0o755); // the embedded server's OS user must be able to enter it
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(parent, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  npm: ChildProcess;
  exited: Promise<number | null>;
  url: URL;
  /** PIDs of the whole tree: npm, node, the postmaster. */
  pids: number[];
  superuserUrl: string;
}

async function npmStart(shutdownSeconds: number): Promise<Started> {
  const dataDir = path.join(parent, "cluster");
  // npm as the user runs it: npm_execpath is npm's own entry point when the tests run under npm.
  const npmCli = process.env.npm_execpath;
  const npm = spawn(npmCli ? process.execPath : "npm", [...(npmCli ? [npmCli] : []), "start"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ENVIRONMENT: "development", EMBEDDED_PG_DATA_DIR: dataDir, EMBEDDED_PG_PORT: "0", PORT: "0", SHUTDOWN_TIMEOUT: String(shutdownSeconds) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(npm);
  const exited = new Promise<number | null>((resolve) => npm.once("exit", resolve));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    npm.stdout!.on("data", (chunk) => {
      output += chunk;
      const match = /GraphQL API: (\S+)/.exec(output);
      if (match && output.includes("ready")) resolve(match[1]!);
    });
    npm.stderr!.on("data", (chunk) => (output += chunk));
    npm.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const node = Number(readFileSync("/proc/" + postmaster + "/stat", "utf8").split(" ")[3]);
  const port = /127\.0\.0\.1:(\d+)\/alwrity_user_data/.exec(output)![1];
  const credentials = JSON.parse(readFileSync(`${dataDir}.credentials.json`, "utf8")) as { superuser: string };
  return { npm, exited, url: new URL(url), pids: [npm.pid!, node, postmaster], superuserUrl: `postgresql://postgres:${credentials.superuser}@127.0.0.1:${port}/alwrity_user_data` };
}

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** A GraphQL POST over `agent` (kept-alive sockets); rejects when the connection is cut. */
function post(started: Started, agent: Agent, token: string, query: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(started.url, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ query }));
  });
}

const LIST = "{ projects { nodes { projectName } } }";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it holds; fails naming `what` after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await sleep(50);
  }
}

/** Until a request waits behind the locker's lock: it is then in flight inside the database. */
async function blockedBehind(locker: pg.Client): Promise<void> {
  await waitFor("a request waiting on the lock", async () => {
    const { rows } = await locker.query("select exists (select 1 from pg_locks where not granted) as waiting");
    return rows[0].waiting as boolean;
  });
}

/** Until every process of the tree has gone (an exit reaps its children a moment later). */
async function noneLeft(started: Started): Promise<void> {
  await waitFor("no process left behind", () => started.pids.filter(alive).length === 0, 5_000).catch(() => undefined);
  expect(started.pids.filter(alive), "processes left behind").toEqual([]);
}

async function lockProjects(superuserUrl: string): Promise<pg.Client> {
  const locker = new pg.Client(superuserUrl);
  // The server going away at shutdown ends this session too: expected, not an error of the test.
  locker.on("error", () => undefined);
  await locker.connect();
  await locker.query("begin; lock table user_data.user_projects in access exclusive mode");
  return locker;
}

test("SIGTERM to npm start: in-flight requests finish, kept-alive connections take no new request, the whole tree exits 0", async () => {
  const started = await npmStart(20);
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...devIdentity("drain@example.com"), iss: DEV_ISSUER });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    // Warm two kept-alive connections, then hold one request in flight behind a lock.
    await Promise.all([post(started, agent, token, LIST), post(started, agent, token, LIST)]);
    const locker = await lockProjects(started.superuserUrl);
    const inFlight = post(started, agent, token, LIST);
    await blockedBehind(locker);
    started.npm.kill("SIGTERM");
    await sleep(500);
    // A new request on the idle kept-alive connection: refused (503) or its connection closed, never served.
    const late = await post(started, agent, token, "{ __typename }").then(
      (answer) => answer,
      (error: Error) => error,
    );
    if (!(late instanceof Error)) {
      expect(late.status).toBe(503);
      expect(late.body).toContain("SHUTTING_DOWN");
    }
    await locker.query("rollback");
    await locker.end();
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.connection).toBe("close");
    expect(JSON.parse(finished.body).errors).toBeUndefined();
    expect(await started.exited).toBe(0);
    await noneLeft(started);
  } finally {
    agent.destroy();
  }
}, 90_000);

test("a request that outlives SHUTDOWN_TIMEOUT is cut off, and the process still exits 0 without leftovers", async () => {
  const started = await npmStart(2);
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...devIdentity("deadline@example.com"), iss: DEV_ISSUER });
  const agent = new Agent({ keepAlive: true });
  const locker = await lockProjects(started.superuserUrl);
  try {
    await post(started, agent, token, "{ __typename }");
    const stuck = post(started, agent, token, LIST).then(
      () => "answered",
      () => "cut off",
    );
    await blockedBehind(locker);
    started.npm.kill("SIGTERM");
    expect(await stuck).toBe("cut off");
    expect(await started.exited).toBe(0);
    await noneLeft(started);
  } finally {
    agent.destroy();
    await locker.end().catch(() => undefined);
  }
}, 90_000);

test("npm start exits non-zero, saying why, when its embedded PostgreSQL is killed under it", async () => {
  const started = await npmStart(5);
  let output = "";
  started.npm.stdout!.on("data", (chunk) => (output += chunk));
  started.npm.stderr!.on("data", (chunk) => (output += chunk));
  const postmaster = started.pids[2]!;
  process.kill(postmaster, "SIGKILL");
  expect(await started.exited).toBe(1);
  expect(output).toMatch(new RegExp(`the embedded PostgreSQL \\(pid ${postmaster}, data directory .*\\) stopped unexpectedly`));
  await noneLeft(started);
}, 90_000);
