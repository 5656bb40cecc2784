/**
 * Processes that start together (several API processes, a worker) each make
 * sure the job queue is installed and the worker role holds its rights: they
 * take turns, so none fails with PostgreSQL's "tuple concurrently updated"
 * (seen when two API processes started at once).
 */
import { expect, test } from "vitest";
import { installJobQueue } from "../../src/bootstrap/job-queue.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();

test("eight installs of the job queue started together all succeed", async () => {
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => installJobQueue(deployment.databases.platform.migrationUrl, deployment.topology)));
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  }
});
