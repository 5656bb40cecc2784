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
import { crontab, taskList } from "./tasks.ts";

/** The worker must not go on in this process (JobWorker.fatal): exit at once, without waiting for its job. */
export class WorkerMustStopError extends Error {
  override name = "WorkerMustStopError";
}

export interface JobWorker {
  readonly workerId: string;
  /**
   * Whether it takes jobs safely: it has not stopped, its runner is running
   * (not being replaced) and it holds its liveness lock. Without the lock, other processes' sweepers
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
  /** IDEMPOTENCY_KEY_SWEEP_MINUTES (10 when absent). */
  readonly idempotencySweepMinutes?: number;
  /** USAGE_PARTITIONS_AHEAD (3 when absent). */
  readonly usagePartitionsAhead?: number;
  /** Where failed attempts are counted (the process's metrics, when it serves them). */
  readonly metrics?: Pick<Metrics, "jobFailures">;
}

/** How long after its runner ended on its own the worker first tries a new one; doubled per failure up to RESTART_MAX_MS. */
const RESTART_MS = 500;
const RESTART_MAX_MS = 30_000;

export async function startWorker(options: WorkerOptions): Promise<JobWorker> {
  const role = transactionSettings({ kind: "worker" }, options.topology).role;
  const workerId = `alwrity-${randomBytes(9).toString("hex")}`;
  const q = pg.escapeIdentifier(JOB_QUEUE_SCHEMA);
  // The role is taken in the connection's startup packet, before any statement can run.
  const pool = new pg.Pool({ connectionString: options.queueUrl, application_name: "alwrity-worker", max: 4, options: `-c role=${role}` });
  pool.on("connect", (client) => client.on("error", (error) => options.log("worker_connection_error", { message: error.message })));
  pool.on("error", (error) => options.log("worker_pool_error", { message: error.message }));

  // Why it takes no jobs: "stopped" for good, or a fatal reason; undefined while it runs.
  let ended: string | undefined;
  // Set while a runner that ended on its own is being replaced.
  let replacing: string | undefined;
  let fail: (reason: Error) => void = () => undefined;
  const fatal = new Promise<never>((_, reject) => (fail = reject));
  fatal.catch(() => undefined); // observed by whoever awaits it
  const running = new Set<string>();
  let runner: Runner | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let liveness: Liveness | undefined;
  let restartTimer: NodeJS.Timeout | undefined;

  // Listened to before a runner starts: a job already due is run while run() is still starting.
  // Every failed attempt counts, retried or not (job:error; job:failed is only the last).
  const events: WorkerEvents = new EventEmitter();
  events.on("job:error", ({ job }) => options.metrics?.jobFailures.inc({ task: job.task_identifier }));
  events.on("job:start", ({ job }) => running.add(job.id));
  events.on("job:complete", ({ job }) => running.delete(job.id));

  const startRunner = async (): Promise<Runner> => {
    const started = await run({
      events,
      pgPool: pool,
      taskList: { ...taskList(options.databases, options.log, { usagePartitionsAhead: options.usagePartitionsAhead ?? 3 }), ...options.extraTasks },
      concurrency: 1,
      crontab: crontab({ idempotencySweepMinutes: options.idempotencySweepMinutes ?? 10 }), // given here, so no crontab file is looked for
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 2000,
      logger: workerLogger(options.log),
      // graphile-worker takes a fixed worker id when it runs one job at a time; ours names the liveness lock.
      ...({ workerId } as object),
    });
    runner = started; // before its end can be seen, so that replace() knows it for the current one
    started.promise.then(
      () => replace(started, "its runner stopped on its own"),
      (error: Error) => {
        noteWorkerError(error);
        replace(started, `its runner ended with an error: ${error.message}`);
      },
    );
    return started;
  };

  // graphile-worker ends its runner at the first error of its cron (a tick that finds no server:
  // "the calling code should re-schedule"), and a worker that cannot record a job's end ends its
  // pool. Either way the process lives on: a new runner, under the same id and liveness lock,
  // starts once the server answers. By the time the old runner's promise settles its job has
  // finished (its shutdown waits for it); what it could not unlock is unlocked here first, as
  // its own shutdown would have, so the job runs again rather than staying locked for hours.
  const replace = (old: Runner, reason: string) => {
    if (ended !== undefined || runner !== old) return; // stop() or a fatal reason came first
    replacing = "its runner ended; a new one starts once the database answers";
    options.log("worker_runner_ended", { workerId, message: reason });
    const attempt = async (delayMs: number): Promise<void> => {
      await new Promise<void>((resolve) => (restartTimer = setTimeout(resolve, delayMs)));
      if (ended !== undefined) return;
      try {
        running.clear(); // none runs now; keepLiveness must not take what is unlocked here for freed by others
        await pool.query(`select ${q}.force_unlock_workers($1::text[])`, [[workerId]]);
        const next = await startRunner();
        if (ended !== undefined) {
          await next.stop().catch(() => undefined);
          return;
        }
        replacing = undefined;
        options.log("worker_runner_restarted", { workerId });
      } catch (error) {
        const retryInMs = Math.min(delayMs * 2, RESTART_MAX_MS);
        options.log("worker_runner_restart_failed", { workerId, message: error instanceof Error ? error.message : String(error), retryInMs });
        return attempt(retryInMs);
      }
    };
    void attempt(RESTART_MS);
  };

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
    await startRunner();
    sweeper = setInterval(() => void sweep().catch(sweepFailed), options.sweepIntervalMs ?? 30_000);
    sweeper.unref();
  } catch (error) {
    ended = "stopped";
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
      const detail = ended ?? replacing ?? liveness!.lost();
      return detail === undefined ? { ok: true } : { ok: false, detail };
    },
    fatal,
    stop() {
      ended ??= "stopped";
      stopping ??= (async () => {
        clearInterval(sweeper);
        clearTimeout(restartTimer);
        // A runner that ended on its own has stopped already; stopping it again would throw.
        if (replacing === undefined) await runner!.stop();
        await liveness!.end();
        await pool.end();
      })();
      return stopping;
    },
  };
}

/**
 * The errors graphile-worker has reported (to its logger, or by ending its runner). Version
 * 0.16 also leaves some of them unhandled on the way (a `.finally()` on its cron's and its
 * pool's promises, fixed in 0.17, which changes how workers hold jobs); an entry point asks
 * here whether an unhandled rejection is only such an echo, which must not end the process.
 */
const reportedErrors = new WeakSet<object>();

function noteWorkerError(error: unknown): void {
  if (typeof error === "object" && error !== null) reportedErrors.add(error);
}

/** Whether `reason` is an error graphile-worker has already reported and this module handles. */
export function isReportedWorkerError(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && reportedErrors.has(reason);
}

function workerLogger(log: Logger) {
  return new WorkerLogger(() => (level, message, meta) => {
    // "Failed to acquire job" is a debug line in graphile-worker, yet it means no job can run.
    for (const key of ["error", "fatalError", "secondError", "reason"]) noteWorkerError(meta?.[key]);
    if (level === "error" || level === "warning" || message.startsWith("Failed to acquire job")) log(`worker_${level}`, { message, ...(meta ?? {}) });
  });
}
