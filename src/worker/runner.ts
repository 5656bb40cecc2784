/**
 * The job worker: graphile-worker over the platform database's queue, running
 * the tasks in tasks.ts. Its queue connections act as the worker role (the
 * rule is asking.ts's; applied for the whole session because graphile-worker
 * opens its own transactions), and the jobs reach the data through the
 * process's Databases like any service. One job at a time per process; run
 * more processes to go faster. stop() lets the running job finish.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { Logger as WorkerLogger, run, type Runner, type WorkerEvents } from "graphile-worker";
import pg from "pg";
import { transactionSettings } from "../db/asking.ts";
import type { Databases } from "../db/databases.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { JOB_QUEUE_SCHEMA, type Topology } from "../topology.ts";
import { holdLiveness, releaseDeadWorkers } from "./liveness.ts";
import { CRONTAB, taskList } from "./tasks.ts";

export interface JobWorker {
  readonly workerId: string;
  /**
   * Whether it still takes jobs: its runner has not ended (stopped or crashed)
   * and its liveness connection is up. Without that connection its lock is
   * gone, and any other process's sweeper would free the jobs it is running.
   * `detail` names what ended it, never a driver message (those go to the log).
   */
  health(): { ok: boolean; detail?: string };
  /** Resolves when the running job (if any) has finished and every connection is closed. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** The platform database as the authenticator login (the API's URL). */
  readonly queueUrl: string;
  readonly topology: Topology;
  readonly databases: Pick<Databases, "platform" | "userData">;
  readonly log: Logger;
  /** How often dead workers' jobs are looked for, besides at start. */
  readonly sweepIntervalMs?: number;
  /** How often the queue is polled for jobs due later (new jobs arrive by LISTEN at once). */
  readonly pollIntervalMs?: number;
  /** USAGE_PARTITIONS_AHEAD (3 when absent). */
  readonly usagePartitionsAhead?: number;
  /** Where failed attempts are counted (the process's metrics, when it serves them). */
  readonly metrics?: Pick<Metrics, "jobFailures">;
}

export async function startWorker(options: WorkerOptions): Promise<JobWorker> {
  const role = transactionSettings({ kind: "worker" }, options.topology).role;
  const workerId = `alwrity-${randomBytes(9).toString("hex")}`;
  // The role is taken in the connection's startup packet, before any statement can run.
  const pool = new pg.Pool({ connectionString: options.queueUrl, application_name: "alwrity-worker", max: 4, options: `-c role=${role}` });
  pool.on("connect", (client) => client.on("error", (error) => options.log("worker_connection_error", { message: error.message })));
  pool.on("error", (error) => options.log("worker_pool_error", { message: error.message }));

  // The liveness lock is held before the first job can be taken.
  const liveness = new pg.Client({ connectionString: options.queueUrl, application_name: `alwrity-worker-liveness` });
  // The first reason it stopped taking jobs; undefined while it runs.
  let ended: string | undefined;
  liveness.on("error", (error) => {
    ended ??= "lost its liveness connection";
    options.log("worker_liveness_lost", { workerId, message: error.message });
  });
  liveness.on("end", () => (ended ??= "lost its liveness connection"));
  let runner: Runner | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  try {
    await liveness.connect();
    await holdLiveness(liveness, workerId);
    const probe = await pool.query<{ role: string }>("select current_user as role");
    if (probe.rows[0]!.role !== role) {
      throw new Error(`its queue connections act as ${probe.rows[0]!.role}, not ${role}: is a pooler in front of the database? the worker needs direct URLs`);
    }
    const sweep = async () => {
      const client = await pool.connect();
      try {
        const dead = await releaseDeadWorkers(client, JOB_QUEUE_SCHEMA);
        if (dead.length > 0) options.log("worker_released_dead_workers", { workerIds: dead });
      } finally {
        client.release();
      }
    };
    await sweep();
    // Listened to before the runner starts: a job already due is run while run() is still starting.
    // Every failed attempt counts, retried or not (job:error; job:failed is only the last).
    const events: WorkerEvents = new EventEmitter();
    events.on("job:error", ({ job }) => options.metrics?.jobFailures.inc({ task: job.task_identifier }));
    runner = await run({
      events,
      pgPool: pool,
      taskList: taskList(options.databases, options.log, { usagePartitionsAhead: options.usagePartitionsAhead ?? 3 }),
      concurrency: 1,
      crontab: CRONTAB, // given here, so no crontab file is looked for
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 2000,
      logger: workerLogger(options.log),
      // graphile-worker takes a fixed worker id when it runs one job at a time; ours names the liveness lock.
      ...({ workerId } as object),
    });
    runner.promise.then(
      () => (ended ??= "stopped"),
      (error: Error) => {
        ended ??= "crashed";
        options.log("worker_crashed", { workerId, message: error.message });
      },
    );
    sweeper = setInterval(() => void sweep().catch((error: Error) => options.log("worker_sweep_failed", { message: error.message })), options.sweepIntervalMs ?? 30_000);
    sweeper.unref();
  } catch (error) {
    await runner?.stop().catch(() => undefined);
    await liveness.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the job worker could not start: ${reason}${/permission denied|does not exist/.test(reason) ? " (has the job queue been installed? run alwrity db init or npm run db:migrate)" : ""}`, { cause: error });
  }
  options.log("worker_started", { workerId });
  let stopping: Promise<void> | undefined;
  return {
    workerId,
    health: () => (ended === undefined ? { ok: true } : { ok: false, detail: ended }),
    stop() {
      ended ??= "stopped";
      stopping ??= (async () => {
        clearInterval(sweeper);
        await runner!.stop();
        await liveness.end().catch(() => undefined);
        await pool.end();
      })();
      return stopping;
    },
  };
}

function workerLogger(log: Logger) {
  return new WorkerLogger(() => (level, message, meta) => {
    // "Failed to acquire job" is a debug line in graphile-worker, yet it means no job can run.
    if (level === "error" || level === "warning" || message.startsWith("Failed to acquire job")) log(`worker_${level}`, { message, ...(meta ?? {}) });
  });
}
