/**
 * No job runs twice in two live workers when the database server restarts
 * under a running job. Two real worker processes (fixtures/recording-worker.ts:
 * startWorker with a task that records its start and end, and sleeps without
 * the database) share a queue on a server of the test's own; the server is
 * restarted while one of them runs the job. Every lock is gone for a moment,
 * the running worker's too; the other worker's sweeper, eager here (every
 * 500 ms, a grace of 3 s), must not free the job, because the running worker
 * takes its lock back within the grace, even when it is stalled (SIGSTOP) for
 * the first 1.5 s after the server's return. Afterwards the job has run exactly
 * once, in one worker, and both workers are alive.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { connect } from "../support/connect.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";

let server: OwnServer;
const folder = mkdtempSync(path.join(tmpdir(), "alwrity-runs-"));
const runs = path.join(folder, "runs.jsonl");
const workers: { child: ChildProcess; output: () => string; exited: Promise<number | null> }[] = [];

function startRecordingWorker(): Promise<(typeof workers)[number]> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "test", "worker", "fixtures", "recording-worker.ts")], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ENVIRONMENT: "test", ...server.env, LIVENESS_GRACE_MS: "3000", SWEEP_INTERVAL_MS: "500" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const worker = { child, output: () => output, exited };
  workers.push(worker);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${output}`)), 60_000);
    child.stdout!.on("data", () => {
      if (/worker \S+ ready/.test(output)) {
        clearTimeout(timer);
        resolve(worker);
      }
    });
    void exited.then((code) => reject(new Error(`the worker exited with ${code}:\n${output}`)));
  });
}

beforeAll(async () => {
  server = await startOwnServer();
  writeFileSync(runs, "");
  await Promise.all([startRecordingWorker(), startRecordingWorker()]);
}, 180_000);

afterAll(async () => {
  for (const { child, exited } of workers) {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  }
  await server?.destroy();
  rmSync(folder, { recursive: true, force: true });
});

interface Run {
  event: "start" | "end";
  jobId: string;
  workerId: string;
  at: number;
}
const recorded = (): Run[] => readFileSync(runs, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Run);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the workers printed:\n${workers.map((w) => w.output().slice(-2000)).join("\n---\n")}`);
  }
}

/** Enqueues a job of the recording task that runs for 20 s, writing its start and end to `runs`. */
async function addRecordedJob(): Promise<void> {
  await connect(server.ownerUrls.platform, (owner) =>
    owner.query(`select graphile_worker.add_job('record_run', json_build_object('file', $1::text, 'ms', 20000))`, [runs]),
  );
}

test("a server restart in the middle of a job: the job runs once, in one worker, and no worker exits", async () => {
  await addRecordedJob();
  await until("the job to start", () => recorded().some((r) => r.event === "start"), 30_000);
  const runner = workers.find((w) => w.output().includes(`worker ${recorded()[0]!.workerId} ready`))!;
  await sleep(1000);
  await server.stop();
  await sleep(1000);
  // The running worker stalls (SIGSTOP) across the server's return, as a long pause or swapping
  // would make it: the other worker's sweeper sees its lock free for 1.5 s, less than the grace.
  runner.child.kill("SIGSTOP");
  try {
    await server.start();
    await sleep(1500);
  } finally {
    runner.child.kill("SIGCONT");
  }
  // Longer than the job's rest, the grace and several sweeps: time for a wrong second run to show.
  await until("the job to end", () => recorded().some((r) => r.event === "end"), 30_000);
  await sleep(6000);

  const all = recorded();
  const starts = all.filter((r) => r.event === "start");
  expect(starts.map((r) => r.workerId), "the job started once").toHaveLength(1);
  expect(all.map((r) => `${r.event} ${r.workerId}`)).toEqual([`start ${starts[0]!.workerId}`, `end ${starts[0]!.workerId}`]);
  expect(workers.map((w) => w.child.exitCode), workers.map((w) => w.output().slice(-2000)).join("\n---\n")).toEqual([null, null]);
  expect(workers.map((w) => w.output()).join("\n")).not.toContain("worker_released_dead_workers");
}, 120_000);

test("a worker stalled for longer than the grace comes back to find its job freed: it exits 1 at once, and never finishes the job", async () => {
  writeFileSync(runs, "");
  await addRecordedJob();
  await until("the job to start", () => recorded().some((r) => r.event === "start"), 30_000);
  const stalledId = recorded()[0]!.workerId;
  const stalled = workers.find((w) => w.output().includes(`worker ${stalledId} ready`))!;
  await server.stop();
  stalled.child.kill("SIGSTOP");
  try {
    await server.start();
    // Longer than the grace (3 s): the other worker frees the job and runs it.
    await until("the other worker to take the job", () => recorded().some((r) => r.event === "start" && r.workerId !== stalledId), 15_000);
  } finally {
    stalled.child.kill("SIGCONT");
  }
  const exit = await Promise.race([stalled.exited, sleep(15_000).then(() => "still running 15 s after it ran again")]);
  expect(exit, stalled.output().slice(-2000)).toBe(1);
  expect(stalled.output()).toMatch(/job \d+ was freed by another worker while this worker's liveness lock was lost/);
  expect(recorded().filter((r) => r.workerId === stalledId).map((r) => r.event), "the stalled worker never finished the job").toEqual(["start"]);
}, 120_000);
