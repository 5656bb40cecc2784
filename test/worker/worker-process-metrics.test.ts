/**
 * The job worker as a process of its own (`alwrity worker`, as production runs
 * it beside the APIs) serves its metrics with METRICS=port: a job's failed
 * attempt is counted there by task, and the queue's failed jobs show too. On a
 * deployment of its own, so this worker is the only one taking its jobs.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { expect, test } from "vitest";
import { freePort } from "../../src/bootstrap/embedded-server.ts";
import { PROJECT_ROOT } from "../../src/config.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";
import { fileClient } from "../support/connect.ts";
import { checkMetrics } from "../support/promtool.ts";

const own = ownDeployment();
const owner = fileClient(() => ({ connectionString: own().platform.migrationUrl }));

test("alwrity worker with METRICS=port counts a failed job by task on its own /metrics, and stops on SIGTERM", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "worker"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...endpointsEnv(own()), METRICS: "port", METRICS_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const scrape = async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      } catch {
        return ""; // not listening yet
      }
    };
    await owner().query(`select graphile_worker.add_job('apply_plan_change', '{"changeId": "nope"}'::json, max_attempts => 1)`);
    const deadline = Date.now() + 60_000;
    let text = "";
    // The queue shows the failure once it is written; the worker counts it just after: wait for both.
    const both = (t: string) => /^alwrity_job_queue_failed\{task="apply_plan_change"\} 1$/m.test(t) && /^alwrity_job_failures_total\{task="apply_plan_change"\} \d+$/m.test(t);
    while (!both(text)) {
      if (Date.now() > deadline) throw new Error(`the worker's metrics never showed the failed job; it printed:\n${output}\nlast scrape:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await scrape();
    }
    expect(text).toMatch(/^alwrity_job_failures_total\{task="apply_plan_change"\} 1$/m);
    expect(checkMetrics(text)).toMatchObject({ ok: true, output: "" });
    expect(output).toContain(`metrics: http://127.0.0.1:${port}/metrics`);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
}, 120_000);
