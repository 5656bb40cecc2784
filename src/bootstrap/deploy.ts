/**
 * `alwrity deploy`: a schema change for a platform that is serving. The pending
 * migrations of both databases are applied as at every start (graphile-migrate,
 * lock_timeout from .gmrc, each migration committed on its own), and only when all
 * of them have committed does a notice on SCHEMA_CHANNEL tell every running API
 * process to rebuild its GraphQL schema and swap it in between requests
 * (src/api/graphql/schema-reload.ts). No process restarts and no request is dropped.
 *
 * Chosen over a rolling restart: a restart costs each process its warm pools, caches
 * and in-flight requests' drain time, needs an orchestrator that knows the fleet, and
 * still leaves a window where old and new processes serve side by side. The schema swap
 * needs only the platform database, which every API process already listens to. A
 * rolling restart stays the way for what a notice cannot carry: a new release of the
 * code, or processes behind a transaction pooler without DATABASE_LISTEN_URL.
 *
 * A migration that fails stops the deploy before the notice: the API keeps serving the
 * schema it had (the expand/contract rule keeps that schema valid against a database
 * part-way through, docs/migrations.md), and the error says what was applied, what
 * failed and what to do.
 */
import * as gm from "graphile-migrate";
import pg from "pg";
import { redactUrl } from "../config.ts";
import type { Deployment } from "./deployment.ts";
import { migrateAll, migrateInTurn, type MigrateAllOptions } from "./migrations.ts";
import { SCHEMA_CHANNEL, type DatabaseKey } from "../topology.ts";

export interface DeployOptions {
  readonly migrationsFolders?: MigrateAllOptions["migrationsFolders"];
  /** Progress lines for whoever runs it. */
  readonly progress?: (line: string) => void;
}

export interface DeployResult {
  /** The migrations applied, per database name. */
  readonly applied: Record<string, readonly string[]>;
}

/** A migration failed: the message says what was applied, what failed and what to do. */
export class DeployFailed extends Error {}

export async function deploy(deployment: Deployment, options: DeployOptions = {}): Promise<DeployResult> {
  const progress = options.progress ?? (() => undefined);
  const applied: Record<string, string[]> = {};
  await migrateAll(deployment, {
    migrationsFolders: options.migrationsFolders,
    async migrate(key, settings) {
      const name = deployment.endpoints(key).name;
      const pending = await remaining(settings);
      progress(`${name}: ${pending.length} pending migration(s)${pending.length ? `: ${pending.join(", ")}` : ""}`);
      try {
        await migrateInTurn(settings);
      } catch (error) {
        const left = await remaining(settings).catch(() => pending);
        applied[name] = pending.filter((m) => !left.includes(m));
        throw new DeployFailed(guidance(deployment, key, applied, left[0], error));
      }
      applied[name] = pending;
    },
  });
  await announce(deployment, applied);
  progress(`told the running API processes on ${deployment.platform.name} to take up the new schema (LISTEN ${SCHEMA_CHANNEL})`);
  return { applied };
}

async function remaining(settings: gm.Settings): Promise<string[]> {
  return (await gm.status(settings)).remainingMigrations ?? [];
}

/** The notice every API process listens for; sent after every migration committed, even when none was pending (a deploy re-run after a lost notice). */
async function announce(deployment: Deployment, applied: Record<string, readonly string[]>): Promise<void> {
  const client = new pg.Client({ connectionString: deployment.platform.migrationUrl, application_name: "alwrity-deploy" });
  await client.connect();
  try {
    await client.query("select pg_notify($1, $2)", [SCHEMA_CHANNEL, JSON.stringify({ applied, at: new Date().toISOString() })]);
  } finally {
    await client.end();
  }
}

function guidance(deployment: Deployment, key: DatabaseKey, applied: Record<string, readonly string[]>, failed: string | undefined, error: unknown): string {
  const name = deployment.endpoints(key).name;
  const reason = error instanceof Error ? error.message : String(error);
  const lockTimeout = (error as { code?: string }).code === "55P03" || /lock timeout/i.test(reason);
  const done = Object.entries(applied).flatMap(([db, list]) => list.map((m) => `${db}/${m}`));
  return [
    `deploy stopped: migration ${failed ?? "(unknown)"} of ${name} failed: ${reason}`,
    `  applied before it in this deploy (each migration commits on its own, so they stay): ${done.length ? done.join(", ") : "none"}`,
    `  the running API processes were not told of any change: they keep serving the schema they had`,
    lockTimeout
      ? `  what to do: the migration waited longer than lock_timeout for a lock a long transaction held (pg_stat_activity shows which); run \`alwrity deploy\` again at a quieter moment; never raise lock_timeout`
      : `  what to do: fix it in a new migration (a committed migration is never edited; one not yet on main may be uncommitted, fixed and recommitted), check it with \`npm run db:lint\`, then run \`alwrity deploy\` again; \`npm run db:status\` shows what is pending`,
    `  a --! no-transaction migration may have stopped part-way: it is idempotent, but a failed CREATE INDEX CONCURRENTLY leaves an invalid index to drop (drop index concurrently if exists …) before the retry`,
    `  (migration login: ${redactUrl(deployment.endpoints(key).migrationUrl ?? "")})`,
  ].join("\n");
}
