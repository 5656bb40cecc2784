/**
 * Processes that start together (several API processes, a worker) each make
 * sure the job queue is installed and the worker role holds its rights: they
 * take turns, so none fails with PostgreSQL's "tuple concurrently updated"
 * (seen when two API processes started at once). And a start takes no lock on
 * the queue's tables when the rights are already there, so it never waits for,
 * or deadlocks with, a request enqueuing a job.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { expect, test } from "vitest";
import { installJobQueue } from "../../src/bootstrap/job-queue.ts";
import { JOB_QUEUE_SCHEMA } from "../../src/topology.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();

test("eight installs of the job queue started together all succeed", async () => {
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => installJobQueue(deployment.databases.platform.migrationUrl, deployment.topology)));
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  }
});

test("an install while a transaction is enqueuing a job neither waits for it nor deadlocks with it (no table is locked when the rights are in place)", async () => {
  await installJobQueue(deployment.databases.platform.migrationUrl, deployment.topology);
  const enqueuing = new pg.Client({ connectionString: deployment.databases.platform.migrationUrl });
  await enqueuing.connect();
  try {
    // What a sign-up does in its transaction: add_job holds the tasks and jobs tables (row exclusive) until commit.
    await enqueuing.query("begin");
    await enqueuing.query(`select ${JOB_QUEUE_SCHEMA}.add_job('alwrity_test_never_run', '{}'::json, job_key := $1)`, [`install-test-${randomUUID()}`]);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      installJobQueue(deployment.databases.platform.migrationUrl, deployment.topology).then(() => "installed"),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still waiting for the enqueuing transaction"), 10_000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe("installed");
  } finally {
    await enqueuing.query("rollback").catch(() => undefined);
    await enqueuing.end();
  }
});
