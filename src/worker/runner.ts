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
import { Logger as WorkerLogger, run, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import pg from "pg";
import { transactionSettings } from "../db/asking.ts";
import type { Databases } from "../db/databases.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { JOB_QUEUE_SCHEMA, type Topology } from "../topology.ts";
import { deadWorkerSweeper, keepLiveness, type Liveness } from "./liveness.ts";
import { CRONTAB, taskList } from "./tasks.ts";

/** The worker must not go on in this process (JobWorker.fatal): exit at once, without waiting for its job. */
export class WorkerMustStopError extends Error {
  override name = "WorkerMustStopError";
}

export interface JobWorker {
  readonly workerId: string;
  /**
   * Whether it takes jobs safely: its runner has not ended (stopped or crashed)
   * and it holds its liveness lock. Without the lock, other processes' sweepers
   * would free the jobs it is running once the grace has passed; it takes the
   * lock again as soon as the server accepts connections (liveness.ts), and is
   * healthy again then. `detail` names what is wrong, never a driver message
   * (those go to the log).
   */
  health(): { ok: boolean; detail?: string };
  /**
   * Rejects when the worker must not go on in this process: it came back after
   * its running job was freed (another worker may be running it), or could not
   * take its lock back. The process should exit non-zero at once, ending the job
   * with it, so its supervisor starts a fresh one. Never resolves.
   */
  readonly fatal: Promise<never>;
  /** Resolves with "stopped" or "crashed" when its runner ends (after stop(), or on its own). */
  readonly ended: Promise<string>;
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
  /** How long a worker's liveness lock must stay free before its jobs are freed (liveness.ts). */
  readonly livenessGraceMs?: number;
  /** Tasks besides the platform's (tests add one that records its runs). */
  readonly extraTasks?: TaskList;
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

  // The first reason it stopped taking jobs; undefined while it runs.
  let ended: string | undefined;
  let fail: (reason: Error) => void = () => undefined;
  const fatal = new Promise<never>((_, reject) => (fail = reject));
  fatal.catch(() => undefined); // observed by whoever awaits it
  const running = new Set<string>();
  let runner: Runner | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let liveness: Liveness | undefined;
  let runnerEnded: Promise<string> | undefined;
  try {
    // The liveness lock is held before the first job can be taken.
    liveness = await keepLiveness({
      url: options.queueUrl,
      queue: pool,
      workerId,
      schema: JOB_QUEUE_SCHEMA,
      log: options.log,
      runningJobs: () => [...running],
      graceMs: options.livenessGraceMs,
      onFatal(reason) {
        ended ??= reason;
        options.log("worker_fatal", { workerId, message: reason });
        fail(new WorkerMustStopError(`the job worker ${workerId} must stop: ${reason}`));
      },
    });
    const probe = await pool.query<{ role: string }>("select current_user as role");
    if (probe.rows[0]!.role !== role) {
      throw new Error(`its queue connections act as ${probe.rows[0]!.role}, not ${role}: is a pooler in front of the database? the worker needs direct URLs`);
    }
    const releaseDead = deadWorkerSweeper(JOB_QUEUE_SCHEMA, options.livenessGraceMs);
    const sweep = async () => {
      if (ended === "stopped") return; // a recheck that comes after stop()
      const client = await pool.connect();
      try {
        const { released, recheckInMs } = await releaseDead(client);
        if (released.length > 0) options.log("worker_released_dead_workers", { workerIds: released });
        // A worker seen dead is freed once its grace is over, not at the next regular sweep.
        if (recheckInMs !== undefined) setTimeout(() => void sweep().catch(sweepFailed), recheckInMs + 50).unref();
      } finally {
        client.release();
      }
    };
    const sweepFailed = (error: Error) => options.log("worker_sweep_failed", { message: error.message });
    await sweep();
    // Listened to before the runner starts: a job already due is run while run() is still starting.
    // Every failed attempt counts, retried or not (job:error; job:failed is only the last).
    const events: WorkerEvents = new EventEmitter();
    events.on("job:error", ({ job }) => options.metrics?.jobFailures.inc({ task: job.task_identifier }));
    events.on("job:start", ({ job }) => running.add(job.id));
    events.on("job:complete", ({ job }) => running.delete(job.id));
    runner = await run({
      events,
      pgPool: pool,
      taskList: { ...taskList(options.databases, options.log, { usagePartitionsAhead: options.usagePartitionsAhead ?? 3 }), ...options.extraTasks },
      concurrency: 1,
      crontab: CRONTAB, // given here, so no crontab file is looked for
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 2000,
      logger: workerLogger(options.log),
      // graphile-worker takes a fixed worker id when it runs one job at a time; ours names the liveness lock.
      ...({ workerId } as object),
    });
    runnerEnded = runner.promise.then(
      () => "stopped",
      (error: Error) => {
        options.log("worker_crashed", { workerId, message: error.message });
        return "crashed";
      },
    );
    void runnerEnded.then((how) => (ended ??= how));
    sweeper = setInterval(() => void sweep().catch(sweepFailed), options.sweepIntervalMs ?? 30_000);
    sweeper.unref();
  } catch (error) {
    await runner?.stop().catch(() => undefined);
    await liveness?.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the job worker could not start: ${reason}${/permission denied|does not exist/.test(reason) ? " (has the job queue been installed? run alwrity db init or npm run db:migrate)" : ""}`, { cause: error });
  }
  options.log("worker_started", { workerId });
  let stopping: Promise<void> | undefined;
  return {
    workerId,
    health() {
      const detail = ended ?? liveness!.lost();
      return detail === undefined ? { ok: true } : { ok: false, detail };
    },
    fatal,
    ended: runnerEnded!,
    stop() {
      ended ??= "stopped";
      stopping ??= (async () => {
        clearInterval(sweeper);
        await runner!.stop();
        await liveness!.end();
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
