/**
 * Case 6: the API directly and through PgBouncer in transaction mode, side by
 * side under the same load. The adaptor's settings for a transaction pooler
 * are read when it is first loaded, so each variant is its own API process
 * (`node src/cli/start.ts` in production mode), not the benchmark's: directly
 * with the default settings, and through PgBouncer with
 * DATABASE_POOLER_MODE=transaction and the revocation listener on a direct
 * DATABASE_LISTEN_URL (LISTEN hears nothing through the pooler; without it no
 * account is cached and every request registers its account again). Reported,
 * not failed: the pooler adds a hop and takes away prepared statements; the
 * numbers say what that costs (docs/many-processes.md aims at ≥ 80 % of direct).
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
// The API process and the PgBouncer the tests start (PgBouncer fetched from Debian when not installed).
import { startApiProcess } from "../../test/support/api-process.ts";
import { startPgbouncer } from "../../test/support/pgbouncer.ts";
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
  try {
    for (const { variant, env } of variants) {
      // Production mode on loopback, signed in with the benchmark's keys (the same child process the tests run).
      const child = await startApiProcess({ ENVIRONMENT: "production", API_HOST: "127.0.0.1", ...BENCH_API_ENV, ...env }, keys);
      const api = {
        url: new URL(child.url).origin,
        async stop() {
          child.child.kill("SIGTERM");
          await child.exited;
        },
      };
      try {
        for (const op of options.operations) {
          const requests = graphqlRequests(op, users);
          await primeAndCheck(api.url, requests);
          for (const connections of options.concurrency) {
            const result = await runHttpLoad({ connections, seconds: options.seconds, warmupSeconds: options.warmupSeconds, url: api.url, requests });
            const problem = failureProblem(`${OPERATION_LABELS[op]}, ${variant}, ${connections} concurrent`, result);
            if (problem) problems.push(problem);
            rows.push({ case: CASE, subject: OPERATION_LABELS[op], variant, concurrency: connections, rps: result.rps, latency: result.latency, outcome: "info" });
          }
        }
      } finally {
        await api.stop();
      }
    }
  } finally {
    await bouncer.stop();
  }
  // Side by side: the pooled variant's share of the direct one's throughput.
  for (const row of rows.filter((r) => r.variant === "API through PgBouncer")) {
    const direct = rows.find((r) => r.variant === "API direct" && r.subject === row.subject && r.concurrency === row.concurrency)!;
    row.ratio = { value: row.rps! / direct.rps!, of: "of direct req/s" };
  }
  return { rows, problems };
}
