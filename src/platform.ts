/**
 * The platform as one running thing: databases up (embedded or configured),
 * provisioned where the project provisions, migrated, and the GraphQL API
 * listening. `npm start` and `alwrity dev` both run this.
 */
import type { ReadinessCheck } from "./api/http/operations.ts";
import { startApiServer, type ApiServer } from "./api/http/server.ts";
import { statementObserver } from "./api/graphql/statement-log.ts";
import { jsonLinesLogger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { redactUrl, type Config } from "./config.ts";
import type { Deployment } from "./bootstrap/deployment.ts";
import { initDatabases } from "./bootstrap/init-databases.ts";
import type { Databases } from "./db/databases.ts";
import { startWorker, type JobWorker } from "./worker/runner.ts";

export interface RunningPlatform {
  readonly deployment: Deployment;
  /** The process's one database service API, shared by the API and whatever runs beside it. */
  readonly databases: Databases;
  readonly api: ApiServer;
  /** The process's metrics (GET /metrics); whatever runs beside the API records into them too. */
  readonly metrics: Metrics;
  /** The job worker, when it runs in this process (WORKER_IN_PROCESS, the default). */
  readonly worker: JobWorker | undefined;
  /** Human-readable lines describing where things are. */
  readonly summary: readonly string[];
  /**
   * Rejects if the platform can no longer serve: the embedded server it started went
   * away without being stopped (killed, crashed). Serving errors for ever is worse than
   * stopping with a message; a supervisor can then restart the whole.
   */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

export async function startPlatform(config: Config): Promise<RunningPlatform> {
  const metrics = createMetrics();
  const log = jsonLinesLogger();
  const databases = await initDatabases(config, { logger: log, onStatement: statementObserver(config.observability.slowStatementMs, metrics, log) });
  const { deployment } = databases;
  let api: ApiServer | undefined;
  let worker: JobWorker | undefined;
  try {
    // graphile-worker needs a session of its own (LISTEN, locks): never through a transaction pooler.
    const workerHere = config.worker.inProcess && config.poolerMode === "session";
    // An in-process worker that has stopped or crashed makes this process not ready: a
    // supervisor replaces the whole. A worker process of its own is not part of /ready
    // (docs/operations.md, "Health and readiness"): its death must not take every API out of service.
    const readinessChecks: ReadinessCheck[] = workerHere
      ? [{ name: "worker", check: async () => worker?.health() ?? { ok: false, detail: "starting" } }]
      : [];
    api = await startApiServer(config, databases, deployment.topology, { metrics, log, readinessChecks });
    if (workerHere) {
      worker = await startWorker({
        queueUrl: deployment.platform.apiUrl,
        topology: deployment.topology,
        databases,
        log,
        usagePartitionsAhead: config.worker.usagePartitionsAhead,
        idempotencySweepMinutes: config.worker.idempotencySweepMinutes,
        metrics,
      });
    }
  } catch (error) {
    await api?.stop().catch(() => undefined);
    await databases.close();
    throw error;
  }
  const summary = [`Node.js ${process.version}`, ...[deployment.platform, deployment.userData].map((db) => `${db.name}: ${redactUrl(db.apiUrl)}`)];
  if (deployment.embedded) summary.push(`embedded PostgreSQL data directory: ${deployment.embedded.dataDir}`);
  summary.push(
    worker
      ? `job worker: running in this process (${worker.workerId})`
      : `job worker: not in this process (${config.worker.inProcess ? "DATABASE_POOLER_MODE=transaction" : "WORKER_IN_PROCESS=false"}); run alwrity worker with direct database URLs`,
  );
  summary.push(`GraphQL API: ${api.url}`);
  if (api.metricsUrl) summary.push(`metrics: ${api.metricsUrl}`);
  if (api.graphiqlUrl) summary.push(`GraphiQL (Ruru): ${api.graphiqlUrl}   (sign in: npm run token -- you@example.com)`);
  let stopped = false;
  const failed = new Promise<never>((_, reject) => {
    deployment.embedded?.watchForExit((pid) =>
      reject(new Error(`the embedded PostgreSQL (pid ${pid}, data directory ${deployment.embedded!.dataDir}) stopped unexpectedly; the platform cannot serve without it`)),
    );
    // The in-process worker's running job may be another worker's now (liveness.ts): the
    // process must end, and the job with it; its supervisor starts a fresh one.
    worker?.fatal.catch(reject);
  });
  failed.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return {
    deployment,
    databases,
    api,
    metrics,
    worker,
    summary,
    failed,
    async stop() {
      if (stopped) return;
      stopped = true;
      await api!.stop(); // no new work arrives
      await worker?.stop(); // the running job finishes
      await databases.close(); // and the embedded server, if one was started
    },
  };
}
