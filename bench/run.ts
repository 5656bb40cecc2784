#!/usr/bin/env node
/**
 * `npm run bench`: generates the data set once, runs each case on its own
 * fresh embedded server, prints one table and writes bench/results/latest.json
 * and latest.md. Exit code 1 when a plan regressed to a sequential scan or a
 * measurement broke (errors instead of answers), and, with --strict, when a
 * speed target was missed. See bench/README.md.
 */
import "./production-mode.ts";
import pg from "pg";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { runApiThroughput, P99_RATIO_TARGET, P99_TARGET_CONCURRENCY, SHARE_TARGET, VANILLA_SHARE_TARGET, VANILLA_VARIANT } from "./cases/api-throughput.ts";
import { runColdStart } from "./cases/cold-start.ts";
import { runFairness, FAIRNESS_TARGET } from "./cases/fairness.ts";
import { runPgbouncerCase } from "./cases/pgbouncer.ts";
import { runPoolSizing } from "./cases/pool-sizing.ts";
import { runRlsOverhead } from "./cases/rls-overhead.ts";
import { runTenantSkew, SKEW_TARGET } from "./cases/tenant-skew.ts";
import { runUsageMetering, USAGE_RATIO_TARGET } from "./cases/usage-metering.ts";
import { describeMachine } from "./machine.ts";
import { parseOptions } from "./options.ts";
import { textTable, writeReport, type BenchReport, type ResultRow } from "./report.ts";
import { prepareServers } from "./servers.ts";

const started = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

async function serverVersion(deployment: Deployment): Promise<string> {
  const client = new pg.Client(deployment.adminUrl);
  await client.connect();
  try {
    return (await client.query("show server_version")).rows[0].server_version;
  } finally {
    await client.end();
  }
}

const range = (values: number[], format: (v: number) => string) => {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? format(lo) : `${format(lo)}–${format(hi)}`;
};

/** The API's req/s and p99 against vanilla PostGraphile's, per operation and concurrency (case 2). */
function vanillaLine(rows: ResultRow[], api: ResultRow[]): string | undefined {
  const pairs = api.flatMap((r) => {
    const plain = rows.find((v) => v.case === r.case && v.subject === r.subject && v.concurrency === r.concurrency && v.variant === VANILLA_VARIANT);
    return plain ? [{ r, share: r.rps! / plain.rps!, p99: r.latency!.p99 / plain.latency!.p99 }] : [];
  });
  if (pairs.length === 0) return undefined;
  const each = pairs.map(({ r, share, p99 }) => `${r.subject.slice(0, 3)} ${r.concurrency}: ${Math.round(share * 100)} %, p99 ${p99.toFixed(2)} ×`).join("; ");
  return `${range(pairs.map((p) => p.share), (v) => `${Math.round(v * 100)} %`)} of its req/s, p99 ${range(pairs.map((p) => p.p99), (v) => v.toFixed(2))} × its (${each}) (target ≥ ${Math.round(VANILLA_SHARE_TARGET * 100)} %)`;
}

function headline(
  rows: ResultRow[],
  poolPlateau: number | undefined,
  cold: { existingSeconds: number; newSeconds: number } | undefined,
  usage: { eventsPerSecond: number; checkRatio: number; concurrency: number } | undefined,
): Record<string, string> {
  const rls = rows.filter((r) => r.case.startsWith("1") && r.variant === "RLS");
  const smallRls = rls.filter((r) => r.subject.endsWith("small users"));
  const api = rows.filter((r) => r.case.startsWith("2") && r.variant === "GraphQL API");
  const top = Math.max(...api.map((r) => r.concurrency!));
  const pct = (v: number) => `${Math.round(v * 100)} %`;
  const atTop = api.filter((r) => r.concurrency === top);
  const fairness = rows.find((r) => r.case.startsWith("7") && r.ratio);
  const skew = rows.find((r) => r.case.startsWith("5") && r.target);
  // A run of some cases (--cases) has a line only for what it measured.
  const lines: Record<string, string | undefined> = {
    "RLS overhead": rls.length
      ? `RLS / owner-with-filter p50 ratio ${range(rls.map((r) => r.ratio!.value), (v) => v.toFixed(2))} (small users ${range(smallRls.map((r) => r.ratio!.value), (v) => v.toFixed(2))}; target ≤ 1.05)`
      : undefined,
    "API share of the hand-written ceiling": api.length
      ? `${range(api.map((r) => r.ratio!.value), pct)} of its req/s; at ${top} concurrent ${atTop.map((r) => `${r.subject.slice(0, 3)} ${pct(r.ratio!.value)}, p99 ${r.latency!.p99.toFixed(1)} ms (${r.note?.split("; ").find((part) => part.endsWith("× hand-written")) ?? "p99 not judged"})`).join("; ")} (targets ≥ ${pct(SHARE_TARGET)}, p99 ≤ ${P99_RATIO_TARGET} × hand-written at ${P99_TARGET_CONCURRENCY})`
      : undefined,
    "API share of vanilla PostGraphile": api.length ? vanillaLine(rows, api) : undefined,
    "Pool size where throughput stops rising": poolPlateau === undefined ? undefined : String(poolPlateau),
    "Tenant skew": skew
      ? `small users' p95 beside the heaviest user's listing ${skew.ratio!.value.toFixed(2)} × beside a small user's same listing, ${skew.note} (target ≤ ${SKEW_TARGET} ×)`
      : undefined,
    "Fairness": fairness ? `small users' p95 beside the heaviest allowed requests ${fairness.ratio!.value.toFixed(2)} × alone (target ≤ ${FAIRNESS_TARGET} ×)` : undefined,
    "Cold start": cold ? `${cold.existingSeconds.toFixed(2)} s on an existing data directory (target ≤ 3 s), ${cold.newSeconds.toFixed(2)} s on a new one` : undefined,
    "Usage metering": usage
      ? `${Math.round(usage.eventsPerSecond)} events/s recorded on ${usage.concurrency} connections; quota check p50 ${rows
          .filter((r) => r.case.startsWith("8") && r.variant.startsWith("record_usage") && r.latency)
          .map((r) => `${r.latency!.p50.toFixed(2)} ms (${r.subject.replace("quota check, ", "")})`)
          .join(" vs ")}, ratio ${usage.checkRatio.toFixed(2)} (target ≤ ${USAGE_RATIO_TARGET})`
      : undefined,
  };
  return Object.fromEntries(Object.entries(lines).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const shape = { users: options.users, assets: options.assets, heavyShares: options.heavyShares, heavyProjects: options.heavyProjects };
  const load = { seconds: options.seconds, warmupSeconds: options.warmupSeconds, concurrency: options.concurrency, tokenUsers: options.tokenUsers, operations: options.operations };
  log(`generating ${shape.users} users and ${shape.assets} assets`);
  const servers = await prepareServers(shape);
  log(`data set loaded in ${servers.loadSeconds.toFixed(1)} s`);
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  let postgres = "unknown";
  const onFreshServer = async <T extends { rows: ResultRow[]; problems: string[] }>(label: string, run: (d: Deployment) => Promise<T>) => {
    log(label);
    const deployment = await servers.fresh(label.split(":")[0]!.replace(/\W+/g, "-"));
    try {
      postgres = await serverVersion(deployment);
      const result = await run(deployment);
      rows.push(...result.rows);
      problems.push(...result.problems);
      return result;
    } finally {
      await deployment.close();
    }
  };
  const selected = (n: number) => options.cases.has(n);
  try {
    if (selected(1))
      await onFreshServer("rls: case 1, RLS overhead", (d) =>
        runRlsOverhead(d, shape, { iterations: options.rlsIterations, heavyIterations: options.rlsHeavyIterations }),
      );
    if (selected(2)) await onFreshServer("api: case 2, API throughput and latency", (d) => runApiThroughput(d, shape, load));
    const pool = selected(3) ? await onFreshServer("pool: case 3, pool sizing", (d) => runPoolSizing(d, shape, { ...load, poolSizes: options.poolSizes })) : undefined;
    let cold: Awaited<ReturnType<typeof runColdStart>> | undefined;
    if (selected(4)) {
      log("case 4, cold start");
      cold = await runColdStart(servers.root, options.coldStarts);
      rows.push(...cold.rows);
    }
    if (selected(5)) await onFreshServer("skew: case 5, tenant skew", (d) => runTenantSkew(d, shape, load));
    if (selected(6)) await onFreshServer("pgbouncer: case 6, directly and through PgBouncer", (d) => runPgbouncerCase(d, shape, load));
    if (selected(7)) await onFreshServer("fairness: case 7, one user at the limits on a pool of 2", (d) => runFairness(d, shape, load));
    const usageConcurrency = Math.max(...options.concurrency.filter((c) => c <= 8), 1);
    const usage = selected(8)
      ? await onFreshServer("usage: case 8, usage metering", (d) =>
          runUsageMetering(d, { events: options.usageEvents, iterations: options.usageIterations, seconds: Math.max(options.seconds, 1), concurrency: usageConcurrency }),
        )
      : undefined;

    const report: BenchReport = {
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      seconds: (performance.now() - started) / 1000,
      mode: options.smoke ? "smoke" : options.cases.size < 8 ? `cases ${[...options.cases].join(",")}` : "full",
      machine: describeMachine(postgres),
      dataset: { users: shape.users, assets: shape.assets, "heavy users' shares": shape.heavyShares.join("/"), "load seconds": servers.loadSeconds.toFixed(1) },
      headline: headline(rows, pool?.plateau, cold, usage && { ...usage, concurrency: usageConcurrency }),
      rows,
      problems,
    };
    console.log(textTable(rows));
    console.log("");
    for (const [k, v] of Object.entries(report.headline)) console.log(`${k}: ${v}`);
    writeReport(report, options.outDir);
    log(`results written to ${options.outDir}/latest.{json,md}`);
  } finally {
    servers.cleanup();
  }

  const missed = rows.filter((r) => r.outcome === "fail");
  if (problems.length) {
    console.error(`\nFAILED: ${problems.length} problem(s):\n\n${problems.join("\n\n")}`);
    return 1;
  }
  if (missed.length) {
    console.error(`\n${missed.length} speed target(s) missed: ${missed.map((r) => `${r.subject} (${r.variant}${r.concurrency ? `, ${r.concurrency}` : ""})`).join("; ")}`);
    if (options.strict) return 1;
    console.error("(reported, not failed: pass --strict to fail on missed targets)");
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
