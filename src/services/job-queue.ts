/**
 * How full the job queue is, for the metrics: per task, the jobs due and not
 * taken (waiting) and those that used up their attempts (failed, kept by
 * graphile-worker until someone looks). Read as the worker's role through
 * the API's own pool, so any API process reports it, wherever the worker runs.
 */
import type { QueueSession } from "../db/session.ts";
import type { JobQueueDepth } from "../metrics.ts";
import { JOB_QUEUE_SCHEMA } from "../topology.ts";

export async function jobQueueDepth(session: QueueSession): Promise<JobQueueDepth[]> {
  const { rows } = await session.query<{ task: string; waiting: string; failed: string }>(
    `select task_identifier as task,
            count(*) filter (where locked_at is null and run_at <= now() and attempts < max_attempts) as waiting,
            count(*) filter (where attempts >= max_attempts) as failed
       from ${JOB_QUEUE_SCHEMA}.jobs group by 1 order by 1`,
  );
  return rows.map((r) => ({ task: r.task, waiting: Number(r.waiting), failed: Number(r.failed) }));
}
