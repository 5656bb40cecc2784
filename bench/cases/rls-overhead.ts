/**
 * Case 1: what row-level security costs. The API's most frequent queries run
 * as authenticated_users under RLS (no user filter in the SQL: the policies add
 * it) and, side by side, as the owner (who bypasses RLS) with the filter
 * written out. Both run on one connection (a superuser's, switching role per
 * transaction), so they share the backend and its caches: begin; set_config
 * of role and user; the query as a prepared statement; commit. Only the
 * query's round trip is timed, and the variants alternate, so drift hits all.
 * A third variant, the owner filtering on (select current_user_id()) itself,
 * tells the cost of the policy machinery from that of the user-id function.
 */
import pg from "pg";
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { withLogin } from "../../src/bootstrap/deployment.ts";
import { isHeavy, projectId, userId, type DatasetShape } from "../dataset.ts";
import { planProblems, readPlan } from "../plan-check.ts";
import type { ResultRow } from "../report.ts";
import { summarize } from "../stats.ts";

interface RlsQuery {
  name: string;
  /** The SQL with an optional user filter; its own parameters start at $first. */
  sql(userFilter: string | undefined, first: number): string;
  params(n: number): string[];
}

const where = (conditions: Array<string | undefined>) => {
  const given = conditions.filter(Boolean);
  return given.length ? ` where ${given.join(" and ")}` : "";
};

export const RLS_QUERIES: RlsQuery[] = [
  {
    name: "a user's projects, newest first",
    sql: (filter) => `select id, project_name, project_type, created_at from user_data.user_projects${where([filter])} order by created_at desc`,
    params: () => [],
  },
  {
    name: "a project's 20 newest assets",
    sql: (filter, first) =>
      `select id, title, asset_type, created_at from user_data.user_content_assets${where([filter, `project_id = $${first}`])} order by created_at desc limit 20`,
    params: (n) => [projectId(n, 1)],
  },
  {
    name: "count of a user's assets",
    sql: (filter) => `select count(*) from user_data.user_content_assets${where([filter])}`,
    params: () => [],
  },
];

/** The query as the API sends it: RLS supplies the user filter. */
export const asSentByApi = (query: RlsQuery) => query.sql(undefined, 1);

export const RLS_TARGET = 1.05;
const SET_CONTEXT = "select set_config('role', $1, true), set_config('app.current_user_id', $2, true)";

interface Side {
  key: "rls" | "owner" | "ownerInitPlan";
  label: string;
  role: string;
  sql: string;
  params(n: number): string[];
}

async function timedTransaction(client: pg.Client, side: Side, n: number, name: string): Promise<number> {
  await client.query("begin");
  await client.query(SET_CONTEXT, [side.role, userId(n)]);
  const started = process.hrtime.bigint();
  await client.query({ name, text: side.sql, values: side.params(n) });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  await client.query("commit");
  return elapsed;
}

async function explain(client: pg.Client, side: Side, n: number): Promise<{ json: unknown; text: string }> {
  await client.query("begin");
  try {
    await client.query(SET_CONTEXT, [side.role, userId(n)]);
    const json = await client.query(`explain (format json, verbose) ${side.sql}`, side.params(n));
    const text = await client.query(`explain ${side.sql}`, side.params(n));
    return { json: json.rows[0]["QUERY PLAN"], text: text.rows.map((r) => r["QUERY PLAN"]).join("\n") };
  } finally {
    await client.query("rollback");
  }
}

const signedMicros = (ms: number) => `${ms < 0 ? "−" : "+"}${Math.abs(ms * 1000).toFixed(0)} µs`;

export interface RlsOptions {
  iterations: number;
  heavyIterations: number;
}

export async function runRlsOverhead(deployment: Deployment, shape: DatasetShape, options: RlsOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const topology = deployment.topology;
  const admin = new URL(deployment.adminUrl!);
  const client = new pg.Client(
    withLogin(deployment.adminUrl!, decodeURIComponent(admin.username), decodeURIComponent(admin.password), deployment.userData.name),
  );
  await client.connect();
  try {
    const heavyUsers = shape.heavyShares.map((_, i) => i + 1);
    const smallUser = () => heavyUsers.length + 1 + Math.floor(Math.random() * (shape.users - heavyUsers.length));
    const authenticated = topology.role("authenticated").name;
    const owner = topology.role("owner").name;
    for (const [q, query] of RLS_QUERIES.entries()) {
      const sides: Side[] = [
        { key: "rls", label: "RLS", role: authenticated, sql: asSentByApi(query), params: query.params },
        { key: "owner", label: "owner + filter", role: owner, sql: query.sql("user_id = $1", 2), params: (n) => [userId(n), ...query.params(n)] },
        {
          key: "ownerInitPlan",
          label: "owner + (select current_user_id())",
          role: owner,
          sql: query.sql("user_id = (select user_data.current_user_id())", 1),
          params: query.params,
        },
      ];
      const rls = sides[0]!;

      // Under RLS the planner cannot know whose rows it reads, so one plan must suit
      // every tenant; check it for a heavy and a small user. (The owner's plan may
      // rightly scan a table that one user fills a third of: it is not checked.)
      for (const n of [heavyUsers[0]!, smallUser()]) {
        const plan = await explain(client, rls, n);
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
        const times = { rls: [] as number[], owner: [] as number[], ownerInitPlan: [] as number[] };
        const warmup = Math.min(50, iterations);
        for (let i = 0; i < warmup + iterations; i++) {
          const n = users();
          // Rotate which side goes first, so none always finds the others' pages in cache.
          for (let k = 0; k < sides.length; k++) {
            const side = sides[(i + k) % sides.length]!;
            const ms = await timedTransaction(client, side, n, `bench_rls_${q}_${side.key}`);
            if (i >= warmup) times[side.key].push(ms);
          }
        }
        const [rlsSummary, ownerSummary, initPlanSummary] = [summarize(times.rls), summarize(times.owner), summarize(times.ownerInitPlan)];
        const ratio = rlsSummary.p50 / ownerSummary.p50;
        const subject = `${query.name} · ${group}`;
        const base = { case: "1 RLS overhead", subject };
        rows.push({ ...base, variant: sides[1]!.label, latency: ownerSummary, outcome: "info" });
        rows.push({
          ...base,
          variant: sides[2]!.label,
          latency: initPlanSummary,
          ratio: { value: initPlanSummary.p50 / ownerSummary.p50, of: "of owner p50" },
          outcome: "info",
        });
        rows.push({
          ...base,
          variant: rls.label,
          latency: rlsSummary,
          ratio: { value: ratio, of: "RLS/owner p50" },
          target: `≤ ${RLS_TARGET.toFixed(2)}`,
          outcome: ratio <= RLS_TARGET ? "pass" : "fail",
          note: `${signedMicros(rlsSummary.p50 - ownerSummary.p50)} p50; mean ratio ${(rlsSummary.mean / ownerSummary.mean).toFixed(2)}`,
        });
      }
    }
  } finally {
    await client.end();
  }
  return { rows, problems };
}
