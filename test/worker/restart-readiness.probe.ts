/**
 * Readiness follows the truth across a restart of the database server: after
 * `pg_ctl stop -m fast` + start, an immediate stop (SIGQUIT) + start, and a
 * SIGKILL of the postmaster + start, the real API process (with its worker in
 * the process, the default) and a real `alwrity worker` (its /ready beside its
 * METRICS port) both answer /ready 200 again within 10 s of the server
 * accepting connections, and neither exited. Their workers take their
 * liveness locks back (checked on the server: one lock per worker). The last
 * case keeps the server down across the turn of a minute: the crontab's tick
 * then finds no server, which ends graphile-worker's runner (its cron stops on
 * any error and expects its caller to start it again), so the worker must start
 * a new runner, and the process must not die of the rejection the library
 * leaves unhandled on the way. On a server of the test's own (own-server.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort } from "../../src/bootstrap/embedded-server.ts";
import { PROJECT_ROOT } from "../../src/config.ts";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";

let server: OwnServer;
let api: ApiProcess;
let worker: ChildProcess;
let workerOutput = "";
let workerReady: string;

beforeAll(async () => {
  server = await startOwnServer();
  // Expired idempotency keys swept every minute: a crontab tick falls in the last outage below.
  const env = { ...server.env, IDEMPOTENCY_KEY_SWEEP_MINUTES: "1" };
  api = await startApiProcess(env);
  const port = await freePort();
  worker = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "worker"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ENVIRONMENT: "test", ...env, METRICS: "port", METRICS_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  worker.stdout!.on("data", (c: Buffer) => (workerOutput += c.toString()));
  worker.stderr!.on("data", (c: Buffer) => (workerOutput += c.toString()));
  workerReady = `http://127.0.0.1:${port}/ready`;
}, 180_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill("SIGKILL");
  await api?.kill();
  await server?.destroy();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0; // not listening yet, or no answer in time
  }
}

/** Milliseconds from now until `url` answers 200 (polled every 100 ms), or undefined after `timeoutMs`. */
async function msUntilReady(url: string, timeoutMs = 20_000): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if ((await status(url)) === 200) return Date.now() - start;
    await sleep(100);
  }
  return undefined;
}

/** How many liveness locks the server holds (one per living worker). */
async function livenessLocks(): Promise<number> {
  const client = new pg.Client(server.adminUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and a.application_name = 'alwrity-worker-liveness'",
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

const apiReady = () => `${api.url.replace(/\/graphql$/, "")}/ready`;
const measured: Record<string, { api: number | undefined; worker: number | undefined }> = {};

test("both are ready before the restarts", async () => {
  expect(await msUntilReady(apiReady(), 60_000), api.output()).toBeDefined();
  expect(await msUntilReady(workerReady, 60_000), workerOutput).toBeDefined();
  expect(await livenessLocks()).toBe(2);
}, 120_000);

const ACROSS_A_TICK = "down across the turn of a minute (a crontab tick finds no server), then start";
const restarts: [string, () => Promise<void>][] = [
  ["pg_ctl stop -m fast, then start", () => server.stop()],
  ["stop -m immediate (SIGQUIT), then start", () => server.stopImmediately()],
  ["SIGKILL of the postmaster, then start", async () => server.kill()],
  [
    ACROSS_A_TICK,
    async () => {
      // Down from 3 s before the minute turns until 1 s after it (the sleep below adds 2 s).
      const untilTurn = 60_000 - (Date.now() % 60_000);
      await sleep(untilTurn > 5_000 ? untilTurn - 3_000 : untilTurn + 57_000);
      await server.stopImmediately();
      await sleep(2000);
    },
  ],
];

for (const [kind, down] of restarts) {
  test(`${kind}: /ready is 200 again within 10 s of the server accepting connections, in the API process and in alwrity worker`, async () => {
    await down();
    await sleep(2000); // down for a while, as a failover is
    await server.start(); // resolves once the server accepts connections
    const [apiMs, workerMs] = await Promise.all([msUntilReady(apiReady()), msUntilReady(workerReady)]);
    measured[kind] = { api: apiMs, worker: workerMs };
    console.log(`${kind}: /ready 200 after ${apiMs} ms (API, in-process worker), ${workerMs} ms (alwrity worker)`);
    expect(api.alive(), api.output().slice(-3000)).toBe(true);
    expect(worker.exitCode, workerOutput.slice(-3000)).toBeNull();
    expect(apiMs, `the API's /ready; it printed:\n${api.output().slice(-3000)}`).toBeLessThan(10_000);
    expect(workerMs, `alwrity worker's /ready; it printed:\n${workerOutput.slice(-3000)}`).toBeLessThan(10_000);
    expect(await livenessLocks()).toBe(2);
    expect(api.output()).toContain("worker_liveness_regained");
    expect(workerOutput).toContain("worker_liveness_regained");
    if (kind === ACROSS_A_TICK) {
      // The tick ended both runners (graphile-worker's cron stops at its first error); both were replaced.
      expect(api.output()).toContain("worker_runner_ended");
      expect(api.output()).toContain("worker_runner_restarted");
      expect(workerOutput).toContain("worker_runner_restarted");
    }
  }, 120_000);
}

afterAll(() => console.log(`time from "server accepts connections" to "/ready 200": ${JSON.stringify(measured)}`));
