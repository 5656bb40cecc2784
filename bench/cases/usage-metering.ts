/**
 * Case 8: usage metering. How many usage events record_usage records per
 * second (each on its own connection and user, as the backend services do),
 * and whether the quota check's latency depends on how many events the table
 * holds: one user, on the Free plan (so the limit is checked), is measured
 * with a small number of events in the table, then again after the table is
 * filled to a large number (all of them that user's, this month: the worst
 * case for a check that sums the month), in the same run. The check answers
 * from the running monthly total, so the ratio should stay near 1.
 *
 * Measured, each call its own transaction as the service's role (commits
 * without waiting for the WAL flush, which would dominate and add noise):
 *   record_usage        the quota check and the insert (what a service calls)
 *   monthly_allowance   "how much is left", as the signed-in user (GraphQL's monthlyAllowance)
 */
import pg from "pg";
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { withLogin } from "../../src/bootstrap/deployment.ts";
import type { ResultRow } from "../report.ts";
import { summarize, type Summary } from "../stats.ts";

export const USAGE_RATIO_TARGET = 1.2;
const CASE = "8 usage metering";

export interface UsageMeteringOptions {
  /** Events in the table at the two measurements, e.g. [10_000, 10_000_000]. */
  readonly events: readonly [number, number];
  /** Timed calls per measurement. */
  readonly iterations: number;
  /** Seconds of recording for the events-per-second figure. */
  readonly seconds: number;
  readonly concurrency: number;
}

export interface UsageMeteringResult {
  rows: ResultRow[];
  problems: string[];
  eventsPerSecond: number;
  checkRatio: number;
}

/** Fills the measured user's month up to `total` events in the table, in batches (tokens 0: the Free limit is never reached). */
async function fillTo(client: pg.Client, userId: string, total: number): Promise<void> {
  const BATCH = 1_000_000;
  for (;;) {
    const have = Number((await client.query("select count(*) as n from platform.platform_usage_logs")).rows[0].n);
    if (have >= total) break;
    await client.query(
      `insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd, created_at)
       select $1, 'bench_fill', 0, 0, now() - (g % 1000) * interval '1 millisecond' from generate_series(1, $2::int) g`,
      [userId, Math.min(BATCH, total - have)],
    );
  }
  // Settle before measuring, at both sizes alike: the bulk insert leaves hint bits to set,
  // statistics to gather and a checkpoint due, whose work would otherwise land in the timings.
  await client.query("vacuum (analyze) platform.platform_usage_logs, platform.usage_monthly_totals");
  await client.query("checkpoint");
}

async function timed(client: pg.Client, text: string, values: unknown[], iterations: number): Promise<Summary> {
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await client.query(text, values);
    samples[i] = performance.now() - start;
  }
  return summarize(samples);
}

export async function runUsageMetering(deployment: Deployment, options: UsageMeteringOptions): Promise<UsageMeteringResult> {
  const admin = new URL(deployment.adminUrl!);
  const url = withLogin(deployment.adminUrl!, decodeURIComponent(admin.username), decodeURIComponent(admin.password), deployment.platform.name);
  const platformAdmin = deployment.topology.role("platformAdmin").name;
  const authenticated = deployment.topology.role("authenticated").name;
  const clients: pg.Client[] = [];
  const connect = async (role: string, userId = "") => {
    const client = new pg.Client(url);
    await client.connect();
    clients.push(client);
    await client.query("select set_config('role', $1, false), set_config('app.current_user_id', $2, false)", [role, userId]);
    return client;
  };
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  try {
    const owner = await connect("none");
    // Only this case's rows: the seed data set has none in the usage log.
    await owner.query("truncate platform.platform_usage_logs, platform.usage_monthly_totals");
    const register = async (clerkId: string) =>
      (await owner.query<{ id: string }>("select id from platform_backend.register_user($1)", [clerkId])).rows[0]!.id;
    const measured = await register("bench_usage_measured");
    const recorders: string[] = [];
    for (let i = 0; i < options.concurrency; i++) recorders.push(await register(`bench_usage_recorder_${i}`));

    // Events per second: each connection records for its own user (one user's events are serialised by design).
    const connections = await Promise.all(recorders.map(() => connect(platformAdmin)));
    let recorded = 0;
    const until = performance.now() + options.seconds * 1000;
    const started = performance.now();
    await Promise.all(
      connections.map(async (client, i) => {
        while (performance.now() < until) {
          await client.query("select 1 from platform_backend.record_usage($1, 'bench_rate', 1, 0.0001)", [recorders[i]]);
          recorded += 1;
        }
      }),
    );
    const eventsPerSecond = recorded / ((performance.now() - started) / 1000);
    rows.push({
      case: CASE,
      subject: "usage events recorded",
      variant: "record_usage",
      concurrency: options.concurrency,
      rps: eventsPerSecond,
      outcome: "info",
      note: `${recorded} events in ${options.seconds} s, one user per connection`,
    });

    const service = await connect(platformAdmin);
    // The check's own cost, not the disk's: without this, each call's commit waits for a WAL
    // flush, whose time on a shared machine varies more than the check costs.
    await service.query("set synchronous_commit = off");
    const user = await connect(authenticated, measured);
    const checks = [
      { variant: "record_usage (quota check + insert)", client: service, text: "select 1 from platform_backend.record_usage($1, 'bench_check', 1, 0)", values: [measured] },
      { variant: "monthly_allowance (remaining)", client: user, text: "select tokens_remaining from platform.monthly_allowance()", values: [] },
    ];
    const summaries: Record<string, Summary[]> = {};
    for (const events of options.events) {
      await fillTo(owner, measured, events);
      for (const check of checks) {
        await timed(check.client, check.text, check.values, Math.min(50, options.iterations)); // warm-up
        const summary = await timed(check.client, check.text, check.values, options.iterations);
        (summaries[check.variant] ??= []).push(summary);
        rows.push({ case: CASE, subject: `quota check, ${events.toLocaleString("en")} events in the table`, variant: check.variant, latency: summary, outcome: "info" });
      }
    }
    const totals = await owner.query("select events from platform.usage_monthly_totals where user_id = $1", [measured]);
    const logged = await owner.query("select count(*) as n from platform.platform_usage_logs where user_id = $1", [measured]);
    if (totals.rows[0]?.events !== logged.rows[0].n) problems.push(`usage metering: the monthly total (${totals.rows[0]?.events}) differs from the logged events (${logged.rows[0].n})`);
    let checkRatio = 0;
    for (const check of checks) {
      const [small, large] = summaries[check.variant]!;
      const ratio = large!.p50 / small!.p50;
      if (check.client === service) checkRatio = ratio;
      rows.push({
        case: CASE,
        subject: `quota check, ${options.events[1].toLocaleString("en")} vs ${options.events[0].toLocaleString("en")} events`,
        variant: check.variant,
        ratio: { value: ratio, of: "large / small (p50)" },
        target: `≤ ${USAGE_RATIO_TARGET}`,
        outcome: ratio <= USAGE_RATIO_TARGET ? "pass" : "fail",
      });
    }
    return { rows, problems, eventsPerSecond, checkRatio };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}
