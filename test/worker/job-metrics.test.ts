/**
 * The job queue in /metrics, from a real API process whose worker runs in it:
 * a job's failed attempts are counted by task (alwrity_job_failures_total), a
 * job that used up its attempts shows in alwrity_job_queue_failed, and jobs
 * due that no worker takes (a task this worker does not know) show in
 * alwrity_job_queue_depth. On a deployment of its own, so its queue holds
 * only this test's jobs.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { fileClient } from "../support/connect.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";
import { checkMetrics } from "../support/promtool.ts";

const own = ownDeployment();
let api: ApiProcess;
const owner = fileClient(() => ({ connectionString: own().platform.migrationUrl }));

beforeAll(async () => {
  api = await startApiProcess(endpointsEnv(own()));
}, 120_000);
afterAll(async () => {
  await api?.kill();
});

const metrics = async () => (await fetch(`${api.url.replace(/\/graphql$/, "")}/metrics`)).text();
/** The value of one series, or undefined when the exposition has none. */
const series = (text: string, name: string, task: string) => {
  const match = new RegExp(`^${name}\\{task="${task}"\\} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : undefined;
};

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the API printed:\n${api.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("failed attempts, jobs out of attempts and jobs waiting are in /metrics, by task", async () => {
  // A payload the task refuses: two attempts, both fail, then the job is out of attempts.
  await owner().query(`select graphile_worker.add_job('sync_entitlements', '{"userId": "not-a-uuid"}'::json, max_attempts => 2, run_at => now())`);
  await until("the job's first failed attempt to be counted", async () => (series(await metrics(), "alwrity_job_failures_total", "sync_entitlements") ?? 0) >= 1);
  // Its retry waits for its backoff; make it due now rather than wait.
  await owner().query("update graphile_worker._private_jobs set run_at = now() where attempts = 1");
  // The queue shows the failure once it is written; the worker counts it just after: wait for both.
  await until("the second attempt to fail", async () => {
    const text = await metrics();
    return series(text, "alwrity_job_queue_failed", "sync_entitlements") === 1 && (series(text, "alwrity_job_failures_total", "sync_entitlements") ?? 0) >= 2;
  });
  const text = await metrics();
  expect(series(text, "alwrity_job_failures_total", "sync_entitlements")).toBe(2);

  // Jobs due that this worker does not take: its queue depth for that task.
  await owner().query(`select graphile_worker.add_job('report_elsewhere', '{}'::json, run_at => now() - interval '1 minute') from generate_series(1, 3)`);
  const later = await metrics();
  expect(series(later, "alwrity_job_queue_depth", "report_elsewhere")).toBe(3);
  expect(series(later, "alwrity_job_queue_depth", "sync_entitlements")).toBe(0);
  expect(checkMetrics(later)).toMatchObject({ ok: true, output: "" });
}, 120_000);
