/**
 * Case 6: the API directly and through PgBouncer in transaction mode, side by
 * side under the same load. The adaptor's settings for a transaction pooler
 * are read when it is first loaded, so each variant is its own API process
 * (`node src/cli/start.ts` in production mode), not the benchmark's: directly
 * with the default settings, and through PgBouncer with
 * DATABASE_POOLER_MODE=transaction and the revocation listener on a direct
 * DATABASE_LISTEN_URL (LISTEN hears nothing through the pooler; without it no
 * account is cached and every request registers its account again). Reported,
 * not failed: the pooler adds a hop (and PgBouncer's own CPU on the same cores);
 * prepared statements are kept per server connection (src/db/server-statements.ts).
 * The numbers say what the hop costs (docs/many-processes.md aims at ≥ 80 % of direct).
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
// The API process and the PgBouncer the tests start (PgBouncer fetched from Debian when not installed).
import { startApiProcess, type ApiProcess } from "../../test/support/api-process.ts";
import { processCpuSeconds, startPgbouncer } from "../../test/support/pgbouncer.ts";
import { primeAndCheck } from "../api-under-test.ts";
import type { DatasetShape } from "../dataset.ts";
import { runHttpLoad } from "../load/http-load.ts";
import type { ResultRow } from "../report.ts";
import { BENCH_API_ENV, graphqlRequests, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor } from "../workload.ts";
import { failureProblem, type LoadOptions } from "./api-throughput.ts";

const CASE = "6 PgBouncer";

export async function runPgbouncerCase(deployment: Deployment, shape: DatasetShape, options: LoadOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const keys = makeClerkKeys();
  const users = tokensFor(keys, sampleUsers(shape, options.tokenUsers));
  const urls = { platform: deployment.platform.apiUrl, userData: deployment.userData.apiUrl };
  // PgBouncer's server-side pool matches the API's steady-state pool (DB_POOL_SIZE's default).
  const bouncer = await startPgbouncer([urls.platform, urls.userData], 20);
  // npm start checks migrations as the owner; migrations need a session, so always directly.
  const common = {
    // The job worker needs sessions of its own, never a transaction pooler; this case measures the API.
    WORKER_IN_PROCESS: "false",
    DATABASE_ENV_PREFIX: deployment.topology.prefix,
    PLATFORM_MIGRATION_DATABASE_URL: deployment.platform.migrationUrl!,
    USER_DATA_MIGRATION_DATABASE_URL: deployment.userData.migrationUrl!,
  };
  const variants = [
    { variant: "API direct", env: { ...common, PLATFORM_DATABASE_URL: urls.platform, USER_DATA_DATABASE_URL: urls.userData } },
    {
      variant: "API through PgBouncer",
      env: { ...common, PLATFORM_DATABASE_URL: bouncer.through(urls.platform), USER_DATA_DATABASE_URL: bouncer.through(urls.userData), DATABASE_POOLER_MODE: "transaction", DATABASE_LISTEN_URL: urls.platform },
    },
  ];
  // Both processes run side by side and each measurement of one is followed at once by the
  // same measurement of the other, so a change in the machine's load (other work on shared
  // cores) falls on both variants alike rather than on whichever ran second.
  const apis: Array<{ variant: string; child: ApiProcess; url: string }> = [];
  try {
    for (const { variant, env } of variants) {
      // Production mode on loopback, signed in with the benchmark's keys (the same child process the tests run).
      const child = await startApiProcess({ ENVIRONMENT: "production", API_HOST: "127.0.0.1", ...BENCH_API_ENV, ...env }, keys);
      apis.push({ variant, child, url: new URL(child.url).origin });
    }
    for (const op of options.operations) {
      const requests = graphqlRequests(op, users);
      for (const api of apis) await primeAndCheck(api.url, requests);
      for (const connections of options.concurrency) {
        for (const { variant, child, url } of apis) {
          // CPU per request of the API process and of PgBouncer (over warm-up and load alike): where the pooled path's time goes on shared cores.
          const cpuBefore = { api: processCpuSeconds(child.child.pid!), bouncer: bouncer.cpuSeconds() };
          const result = await runHttpLoad({ connections, seconds: options.seconds, warmupSeconds: options.warmupSeconds, url, requests });
          const requestsServed = result.rps * (options.seconds + options.warmupSeconds);
          const perRequest = (before: number, after: number) => `${Math.round(((after - before) / Math.max(requestsServed, 1)) * 1e6)} µs`;
          const cpu = [`API CPU ${perRequest(cpuBefore.api, processCpuSeconds(child.child.pid!))}/req`];
          if (variant === "API through PgBouncer") cpu.push(`PgBouncer ${perRequest(cpuBefore.bouncer, bouncer.cpuSeconds())}/req`);
          const problem = failureProblem(`${OPERATION_LABELS[op]}, ${variant}, ${connections} concurrent`, result);
          if (problem) problems.push(problem);
          rows.push({ case: CASE, subject: OPERATION_LABELS[op], variant, concurrency: connections, rps: result.rps, latency: result.latency, outcome: "info", note: cpu.join(", ") });
        }
      }
    }
  } finally {
    for (const { child } of apis) {
      child.child.kill("SIGTERM");
      await child.exited;
    }
    await bouncer.stop();
  }
  // Side by side: the pooled variant's share of the direct one's throughput.
  for (const row of rows.filter((r) => r.variant === "API through PgBouncer")) {
    const direct = rows.find((r) => r.variant === "API direct" && r.subject === row.subject && r.concurrency === row.concurrency)!;
    row.ratio = { value: row.rps! / direct.rps!, of: "of direct req/s" };
  }
  return { rows, problems };
}
