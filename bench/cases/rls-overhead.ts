/**
 * Case 1: what row-level security costs. The API's most frequent queries run
 * as authenticated_users under RLS (no user filter in the SQL: the policies add
 * it) and, side by side, as the owner (who bypasses RLS) with the filter
 * written out. Both go through the same steps on their own connection (begin;
 * set_config of role and user; the query as a prepared statement; commit), and
 * only the query's round trip is timed, alternating the two so drift hits both.
 */
import pg from "pg";
import type { Deployment } from "../../src/db/deployment.ts";
import { isHeavy, projectId, userId, type DatasetShape } from "../dataset.ts";
import { planProblems, readPlan } from "../plan-check.ts";
import type { ResultRow } from "../report.ts";
import { summarize } from "../stats.ts";

interface RlsQuery {
  name: string;
  /** As the API sends it: RLS supplies the user filter. */
  rls: string;
  /** The same query with the user filter written out; $1 is the user id. */
  owner: string;
  params(n: number): string[];
}

export const RLS_QUERIES: RlsQuery[] = [
  {
    name: "a user's projects, newest first",
    rls: "select id, project_name, project_type, created_at from user_data.user_projects order by created_at desc",
    owner: "select id, project_name, project_type, created_at from user_data.user_projects where user_id = $1 order by created_at desc",
    params: () => [],
  },
  {
    name: "a project's 20 newest assets",
    rls: "select id, title, asset_type, created_at from user_data.user_content_assets where project_id = $1 order by created_at desc limit 20",
    owner:
      "select id, title, asset_type, created_at from user_data.user_content_assets where user_id = $1 and project_id = $2 order by created_at desc limit 20",
    params: (n) => [projectId(n, 1)],
  },
  {
    name: "count of a user's assets",
    rls: "select count(*) from user_data.user_content_assets",
    owner: "select count(*) from user_data.user_content_assets where user_id = $1",
    params: () => [],
  },
];

export const RLS_TARGET = 1.05;
const SET_CONTEXT = "select set_config('role', $1, true), set_config('app.current_user_id', $2, true)";

interface Side {
  client: pg.Client;
  role: string;
  sql: string;
  params(n: number): string[];
}

async function timedTransaction(side: Side, n: number, name: string): Promise<number> {
  await side.client.query("begin");
  await side.client.query(SET_CONTEXT, [side.role, userId(n)]);
  const started = process.hrtime.bigint();
  await side.client.query({ name, text: side.sql, values: side.params(n) });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  await side.client.query("commit");
  return elapsed;
}

async function explain(side: Side, n: number): Promise<{ json: unknown; text: string }> {
  await side.client.query("begin");
  try {
    await side.client.query(SET_CONTEXT, [side.role, userId(n)]);
    const json = await side.client.query(`explain (format json, verbose) ${side.sql}`, side.params(n));
    const text = await side.client.query(`explain ${side.sql}`, side.params(n));
    return { json: json.rows[0]["QUERY PLAN"], text: text.rows.map((r) => r["QUERY PLAN"]).join("\n") };
  } finally {
    await side.client.query("rollback");
  }
}

export interface RlsOptions {
  iterations: number;
  heavyIterations: number;
}

export async function runRlsOverhead(deployment: Deployment, shape: DatasetShape, options: RlsOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const topology = deployment.topology;
  const rlsClient = new pg.Client(deployment.userData.apiUrl);
  const ownerClient = new pg.Client(deployment.userData.migrationUrl);
  await Promise.all([rlsClient.connect(), ownerClient.connect()]);
  try {
    const heavyUsers = shape.heavyShares.map((_, i) => i + 1);
    const smallUser = () => heavyUsers.length + 1 + Math.floor(Math.random() * (shape.users - heavyUsers.length));
    for (const [q, query] of RLS_QUERIES.entries()) {
      const rls: Side = { client: rlsClient, role: topology.role("authenticated").name, sql: query.rls, params: query.params };
      const owner: Side = { client: ownerClient, role: topology.role("owner").name, sql: query.owner, params: (n) => [userId(n), ...query.params(n)] };

      // Under RLS the planner cannot know whose rows it reads, so one plan must suit
      // every tenant; check it for a heavy and a small user. (The owner's plan may
      // rightly scan a table that one user fills a third of: it is not checked.)
      for (const n of [heavyUsers[0]!, smallUser()]) {
        const plan = await explain(rls, n);
        const found = planProblems(readPlan(plan.json, "user_data"), true);
        if (found.length) {
          problems.push(
            `plan regression in "${query.name}" (as ${rls.role}, ${isHeavy(shape, n) ? "heavy" : "small"} user): ${found.join("; ")}\n${rls.sql}\n${plan.text}`,
          );
        }
      }

      for (const [group, users, iterations] of [
        ["small users", smallUser, options.iterations],
        ["heavy users", () => heavyUsers[Math.floor(Math.random() * heavyUsers.length)]!, options.heavyIterations],
      ] as const) {
        const times = { rls: [] as number[], owner: [] as number[] };
        const warmup = Math.min(50, iterations);
        for (let i = 0; i < warmup + iterations; i++) {
          const n = users();
          // Alternate which side goes first, so neither always finds the other's pages in cache.
          const order = i % 2 ? ([["rls", rls], ["owner", owner]] as const) : ([["owner", owner], ["rls", rls]] as const);
          for (const [key, side] of order) {
            const ms = await timedTransaction(side, n, `bench_rls_${q}_${key}`);
            if (i >= warmup) times[key].push(ms);
          }
        }
        const rlsSummary = summarize(times.rls);
        const ownerSummary = summarize(times.owner);
        const ratio = rlsSummary.p50 / ownerSummary.p50;
        const subject = `${query.name} · ${group}`;
        rows.push({ case: "1 RLS overhead", subject, variant: "owner + filter", latency: ownerSummary, outcome: "info" });
        rows.push({
          case: "1 RLS overhead",
          subject,
          variant: "RLS",
          latency: rlsSummary,
          ratio: { value: ratio, of: "RLS/owner p50" },
          target: `≤ ${RLS_TARGET.toFixed(2)}`,
          outcome: ratio <= RLS_TARGET ? "pass" : "fail",
          note: `mean ratio ${(rlsSummary.mean / ownerSummary.mean).toFixed(2)}`,
        });
      }
    }
  } finally {
    await Promise.all([rlsClient.end(), ownerClient.end()]);
  }
  return { rows, problems };
}
