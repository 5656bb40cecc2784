/**
 * Which graphile-worker workers are alive, told by PostgreSQL itself: each of
 * our workers holds a session-level advisory lock named after its worker id
 * on a connection of its own for as long as it lives. When its process dies
 * (SIGKILL, power loss) the server ends that session and the lock goes with
 * it. graphile-worker alone would leave a dead worker's job locked for 4
 * hours; the sweeper frees the jobs of any worker whose lock is free, so a
 * restarted worker carries on at once. Written here because graphile-worker's
 * own crash recovery (heartbeats) is only in Worker Pro.
 */
import type pg from "pg";

const LOCK = "pg_catalog.hashtextextended('alwrity-worker:' || $1, 0)";

/** Holds the liveness lock of `workerId` on `client` (a connection that lives exactly as long as the worker). */
export async function holdLiveness(client: pg.ClientBase, workerId: string): Promise<void> {
  const { rows } = await client.query<{ held: boolean }>(`select pg_catalog.pg_try_advisory_lock(${LOCK}) as held`, [workerId]);
  if (!rows[0]!.held) throw new Error(`worker id ${workerId} is already in use`);
}

/**
 * Frees the jobs and queues locked by workers that are no longer alive;
 * answers their ids. `client` must not be the connection holding this
 * process's own liveness locks (advisory locks are re-entrant per session).
 */
export async function releaseDeadWorkers(client: pg.ClientBase, schema: string): Promise<string[]> {
  const q = client.escapeIdentifier(schema);
  const { rows } = await client.query<{ locked_by: string }>(
    `select locked_by from ${q}._private_jobs where locked_by is not null
     union select locked_by from ${q}._private_job_queues where locked_by is not null`,
  );
  const dead: string[] = [];
  for (const { locked_by: workerId } of rows) {
    const probe = await client.query<{ free: boolean }>(`select pg_catalog.pg_try_advisory_lock(${LOCK}) as free`, [workerId]);
    if (!probe.rows[0]!.free) continue; // alive: its session still holds the lock
    await client.query(`select pg_catalog.pg_advisory_unlock(${LOCK})`, [workerId]);
    dead.push(workerId);
  }
  if (dead.length > 0) await client.query(`select ${q}.force_unlock_workers($1::text[])`, [dead]);
  return dead;
}
