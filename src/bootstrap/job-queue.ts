/**
 * The job queue's schema (graphile-worker's graphile_worker, in the platform
 * database), installed and upgraded by graphile-worker's own migrations, run
 * as the owner by every command that migrates. The worker role then gets the
 * rights the queue's connections need and nothing more: it is neither the
 * owner nor a superuser, so the worker process never changes a schema.
 */
import { Logger as WorkerLogger, runMigrations } from "graphile-worker";
import { redactUrl } from "../config.ts";
import { JOB_QUEUE_SCHEMA, type Topology } from "../topology.ts";
import pg from "pg";

export async function installJobQueue(ownerUrl: string, topology: Topology): Promise<void> {
  try {
    await runMigrations({ connectionString: ownerUrl, logger: quietWorkerLogger() });
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    try {
      const worker = client.escapeIdentifier(topology.role("worker").name);
      const schema = client.escapeIdentifier(JOB_QUEUE_SCHEMA);
      // Idempotent; also covers tables and functions a newer graphile-worker adds. One transaction
      // under a lock: processes that start together (several API processes, a worker) take turns,
      // since concurrent GRANTs on one object fail with "tuple concurrently updated".
      await client.query("begin");
      await client.query("select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('alwrity-job-queue-rights', 0))");
      await client.query(`
        revoke all on schema ${schema} from public;
        grant usage on schema ${schema} to ${worker};
        grant select, insert, update, delete on all tables in schema ${schema} to ${worker};
        grant usage, select on all sequences in schema ${schema} to ${worker};
        grant execute on all functions in schema ${schema} to ${worker};`);
      // graphile-worker turns row-level security on for its tables (with no policy, so nobody but the
      // owner sees them); the worker role gets a policy of its own on each. Only where it is missing
      // or not the one wanted: CREATE and DROP POLICY lock the table exclusively, and a start that
      // took those locks on every table in turn deadlocked with a sign-up enqueuing its job (add_job
      // locks the tasks table, then the jobs table), failing the user's request.
      const { rows } = await client.query<{ table: string; present: boolean }>(
        `select format('%I.%I', t.schemaname, t.tablename) as table, p.policyname is not null as present
           from pg_catalog.pg_tables t
           left join pg_catalog.pg_policies p on p.schemaname = t.schemaname and p.tablename = t.tablename and p.policyname = 'alwrity_worker_all'
          where t.schemaname = $1 and t.rowsecurity
            and (p.policyname is null or p.cmd <> 'ALL' or p.roles <> array[$2]::name[] or p.qual <> 'true' or p.with_check <> 'true')
          order by 1`,
        [JOB_QUEUE_SCHEMA, topology.role("worker").name],
      );
      for (const { table, present } of rows) {
        if (present) await client.query(`drop policy alwrity_worker_all on ${table}`);
        await client.query(`create policy alwrity_worker_all on ${table} for all to ${worker} using (true) with check (true)`);
      }
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      await client.end();
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`installing the job queue (graphile-worker) in ${redactUrl(ownerUrl)} failed: ${reason}`, { cause: error });
  }
}

/** graphile-worker logs its migrations at info level; only problems are worth a line on every start. */
function quietWorkerLogger() {
  return new WorkerLogger(() => (level: string, message: string) => {
    if (level === "error" || level === "warning") process.stderr.write(`[job queue] ${level}: ${message}\n`);
  });
}
