/**
 * Which graphile-worker workers are alive, told by PostgreSQL itself: each of
 * our workers holds a session-level advisory lock named after its worker id
 * on a connection of its own for as long as it lives. When its process dies
 * (SIGKILL, power loss) the server ends that session and the lock goes with
 * it. graphile-worker alone would leave a dead worker's job locked for 4
 * hours; the sweeper frees the jobs of any worker whose lock has stayed free
 * for a grace period, so a restarted worker carries on soon. Written here
 * because graphile-worker's own crash recovery (heartbeats) is only in Worker Pro.
 *
 * A restart of the database server frees every lock at once, the living
 * workers' too. So a living worker takes its lock again as soon as the server
 * accepts connections (keepLiveness), and the sweeper frees nobody whose lock
 * it has not seen free for LIVENESS_GRACE_MS: a worker that is alive is back
 * long before that. A worker that comes back after its jobs were freed anyway
 * (it was stalled for longer than the grace) must not go on running them
 * beside whoever took them: keepLiveness reports that as fatal, and the
 * process exits (see runner.ts).
 */
import pg from "pg";
import type { Logger } from "../log.ts";

const LOCK = "pg_catalog.hashtextextended('alwrity-worker:' || $1, 0)";

/**
 * How long a worker's lock must be seen free, continuously, before its jobs
 * are freed; and how long a worker that reaches the server again may take to
 * get its lock back before it gives up (half of it). Far longer than a living
 * worker needs to reconnect (it tries every RECONNECT_MS).
 */
export const LIVENESS_GRACE_MS = 10_000;
/** How often a worker that lost its liveness connection tries to get it back. */
export const RECONNECT_MS = 250;

async function tryLiveness(client: pg.ClientBase, workerId: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(`select pg_catalog.pg_try_advisory_lock(${LOCK}) as held`, [workerId]);
  return rows[0]!.held;
}

/**
 * A sweeper: each call frees the jobs and queues locked by workers whose lock
 * it has seen free for at least `graceMs` (since the first call that saw it
 * free, with no call in between seeing it held); answers their ids, and when
 * the next call could free someone (`recheckInMs`, undefined when nobody is
 * waiting). `client` must not be the connection holding this process's own
 * liveness locks (advisory locks are re-entrant per session).
 */
export function deadWorkerSweeper(schema: string, graceMs = LIVENESS_GRACE_MS): (client: pg.ClientBase) => Promise<{ released: string[]; recheckInMs?: number }> {
  const seenFree = new Map<string, number>();
  return async (client) => {
    const q = client.escapeIdentifier(schema);
    const { rows } = await client.query<{ locked_by: string }>(
      `select locked_by from ${q}._private_jobs where locked_by is not null
       union select locked_by from ${q}._private_job_queues where locked_by is not null`,
    );
    const now = Date.now();
    const probed: string[] = [];
    const dead: string[] = [];
    let recheckInMs: number | undefined;
    try {
      for (const { locked_by: workerId } of rows) {
        const probe = await client.query<{ free: boolean }>(`select pg_catalog.pg_try_advisory_lock(${LOCK}) as free`, [workerId]);
        if (!probe.rows[0]!.free) {
          seenFree.delete(workerId); // alive: its session holds the lock (again)
          continue;
        }
        probed.push(workerId);
        const since = seenFree.get(workerId) ?? now;
        seenFree.set(workerId, since);
        if (now - since >= graceMs) dead.push(workerId);
        else recheckInMs = Math.min(recheckInMs ?? Infinity, since + graceMs - now);
      }
      // Freed while their locks are held here, so a worker coming back finds its jobs either
      // still its own or already freed, never freed after it checked (see keepLiveness).
      if (dead.length > 0) await client.query(`select ${q}.force_unlock_workers($1::text[])`, [dead]);
    } finally {
      for (const workerId of probed) await client.query(`select pg_catalog.pg_advisory_unlock(${LOCK})`, [workerId]);
    }
    for (const workerId of dead) seenFree.delete(workerId);
    // Forget workers that no longer lock anything (finished, or freed by another sweeper).
    const locking = new Set(rows.map((r) => r.locked_by));
    for (const workerId of seenFree.keys()) if (!locking.has(workerId)) seenFree.delete(workerId);
    return { released: dead, recheckInMs };
  };
}

export interface LivenessOptions {
  readonly url: string;
  /** Connections that may read the queue's tables (the worker role's), for the check after a loss. */
  readonly queue: pg.Pool;
  readonly workerId: string;
  readonly schema: string;
  readonly log: Logger;
  /** The ids of the jobs this worker is running right now. */
  readonly runningJobs: () => readonly string[];
  /** The worker must stop at once: its jobs may be running elsewhere (the process exits). */
  readonly onFatal: (reason: string) => void;
  readonly graceMs?: number;
}

export interface Liveness {
  /** Undefined while the lock is held; otherwise why not. */
  lost(): string | undefined;
  end(): Promise<void>;
}

/**
 * Takes the worker's lock on a connection of its own and keeps it: when the
 * connection is lost (server restart, terminated backend, network), connects
 * again every RECONNECT_MS and takes the lock again. Then it checks that every
 * job it is running is still locked by this worker; if one was freed, onFatal.
 * onFatal too when the server answers but the lock cannot be had for half the
 * grace (someone else holds it): the sweepers will free our jobs soon.
 */
export async function keepLiveness(options: LivenessOptions): Promise<Liveness> {
  const graceMs = options.graceMs ?? LIVENESS_GRACE_MS;
  let lostReason: string | undefined = "starting";
  let ended = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  // When a reconnect first reached the server without getting the lock.
  let refusedSince: number | undefined;

  const connectAndHold = async (): Promise<boolean> => {
    const next = new pg.Client({ connectionString: options.url, application_name: "alwrity-worker-liveness", keepAlive: true });
    next.on("error", (error) => lose(next, error.message));
    next.on("end", () => lose(next, "connection ended"));
    try {
      await next.connect();
      if (!(await tryLiveness(next, options.workerId))) {
        await next.end().catch(() => undefined);
        refusedSince ??= Date.now();
        return false;
      }
    } catch (error) {
      await next.end().catch(() => undefined);
      if (client === undefined && lostReason === "starting") throw error;
      return false;
    }
    refusedSince = undefined;
    client = next;
    return true;
  };

  const lose = (which: pg.Client, message: string) => {
    if (which !== client || ended) return;
    client = undefined;
    lostReason = "lost its liveness connection";
    options.log("worker_liveness_lost", { workerId: options.workerId, message });
    schedule();
  };

  const schedule = () => {
    if (ended) return;
    retry = setTimeout(() => void regain(), RECONNECT_MS);
  };

  const regain = async () => {
    if (ended) return;
    if (!(await connectAndHold())) {
      if (refusedSince !== undefined && Date.now() - refusedSince > graceMs / 2) {
        return options.onFatal(`could not take its liveness lock again for ${Math.round((Date.now() - refusedSince) / 1000)} s: its jobs may be freed and run by another worker`);
      }
      return schedule();
    }
    // The lock is ours again: are the jobs we are running still ours?
    const running = options.runningJobs();
    if (running.length > 0) {
      const q = client!.escapeIdentifier(options.schema);
      const { rows } = await options.queue
        .query<{ id: string }>(`select id::text from ${q}._private_jobs where id = any($1::bigint[]) and locked_by = $2`, [running, options.workerId])
        .catch(() => ({ rows: undefined }));
      // Not known: let the lock go again (`lose` schedules the next try) rather than claim health.
      if (rows === undefined) return void client?.end().catch(() => undefined);
      const ours = new Set(rows.map((r) => r.id));
      // A job that finished while we asked is no longer running, and no longer locked by anyone.
      const freed = options.runningJobs().filter((id) => running.includes(id) && !ours.has(id));
      if (freed.length > 0) return options.onFatal(`job ${freed.join(", ")} was freed by another worker while this worker's liveness lock was lost`);
    }
    lostReason = undefined;
    options.log("worker_liveness_regained", { workerId: options.workerId });
  };

  await connectAndHold().then((held) => {
    if (!held) throw new Error(`worker id ${options.workerId} is already in use`);
  });
  lostReason = undefined;
  return {
    lost: () => lostReason,
    async end() {
      ended = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
