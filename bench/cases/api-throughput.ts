/**
 * Case 2: what the GraphQL API costs. Each hot operation, at each concurrency,
 * four ways: the real API (production mode), vanilla PostGraphile over the
 * same databases (what a team would pick instead: how much is PostGraphile's
 * and how much ours), the hand-written handler doing the same work with the
 * least code (the ceiling), and the bare SQL transaction under pgbench (the
 * floor under all). The HTTP load comes from
 * a separate process and rotates through many signed-in users.
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { primeAndCheck, productionConfig, startApiUnderTest } from "../api-under-test.ts";
import type { DatasetShape } from "../dataset.ts";
import { startHandWrittenServer } from "../hand-written-server.ts";
import { checkSameAnswers, startVanillaPostGraphile } from "../vanilla-postgraphile.ts";
import { failuresOf, runHttpLoad, type LoadResult } from "../load/http-load.ts";
import { runPgbench } from "../load/pgbench.ts";
import type { ResultRow } from "../report.ts";
import {
  graphqlRequests,
  handWrittenRequests,
  makeClerkKeys,
  OPERATION_LABELS,
  sampleUsers,
  tokensFor,
  vanillaRequests,
  type Operation,
} from "../workload.ts";

/** The API's req/s as a share of the hand-written handler's, at every concurrency. */
export const SHARE_TARGET = 0.8;
/** The API's p99 at P99_TARGET_CONCURRENCY over the hand-written handler's p99 in the same run. */
export const P99_RATIO_TARGET = 1.3;
export const P99_TARGET_CONCURRENCY = 32;
/** The API's req/s as a share of vanilla PostGraphile's: our additions must cost nothing measurable. */
export const VANILLA_SHARE_TARGET = 1.0;
export const VANILLA_VARIANT = "vanilla PostGraphile";

export interface LoadOptions {
  seconds: number;
  warmupSeconds: number;
  concurrency: number[];
  tokenUsers: number;
  operations: Operation[];
}

const CASE = "2 API throughput";

/** Turns a broken load (errors instead of answers) into a problem; its numbers mean nothing. */
export function failureProblem(what: string, result: LoadResult): string | undefined {
  const failures = failuresOf(result);
  return failures > 0
    ? `${what}: ${failures} failed requests (non-2xx ${result.non2xx}, errors ${result.errors}, GraphQL errors ${result.mismatches})`
    : undefined;
}

export async function runApiThroughput(deployment: Deployment, shape: DatasetShape, options: LoadOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const keys = makeClerkKeys();
  const config = productionConfig(deployment, keys);
  const users = tokensFor(keys, sampleUsers(shape, options.tokenUsers));
  const api = await startApiUnderTest(config, deployment);
  const hand = await startHandWrittenServer(config, deployment).catch(async (error) => {
    await api.stop();
    throw error;
  });
  const vanilla = await startVanillaPostGraphile(config, deployment).catch(async (error) => {
    await Promise.all([api.stop(), hand.stop()]);
    throw error;
  });
  // The heaviest users (more projects than a page holds) and some others ask both the same.
  const compared = [...tokensFor(keys, [1, 2, 3]), ...users.slice(0, 7)];
  try {
    for (const op of Object.keys(OPERATION_LABELS) as Operation[]) {
      await primeAndCheck(api.url, graphqlRequests(op, users));
      await primeAndCheck(vanilla.url, vanillaRequests(op, users));
      await primeAndCheck(hand.url, handWrittenRequests(op, users));
      await checkSameAnswers(api.url, vanilla.url, op, compared);
    }
    for (const op of options.operations) {
      const gqlRequests = graphqlRequests(op, users);
      const handRequests = handWrittenRequests(op, users);
      const plainRequests = vanillaRequests(op, users);
      for (const connections of options.concurrency) {
        const load = { connections, seconds: options.seconds, warmupSeconds: options.warmupSeconds };
        const gql = await runHttpLoad({ ...load, url: api.url, requests: gqlRequests });
        const plain = await runHttpLoad({ ...load, url: vanilla.url, requests: plainRequests });
        const handResult = await runHttpLoad({ ...load, url: hand.url, requests: handRequests });
        const sql = await runPgbench({
          url: deployment.userData.apiUrl,
          role: deployment.topology.role("authenticated").name,
          users: shape.users,
          op,
          clients: connections,
          seconds: options.seconds,
          warmupSeconds: options.warmupSeconds,
        });
        const subject = OPERATION_LABELS[op];
        for (const [what, result] of [["GraphQL API", gql], [VANILLA_VARIANT, plain], ["hand-written", handResult], ["pgbench", sql]] as const) {
          const problem = failureProblem(`${subject}, ${what}, ${connections} concurrent`, result);
          if (problem) problems.push(problem);
        }
        const share = gql.rps / handResult.rps;
        const p99Judged = connections === P99_TARGET_CONCURRENCY;
        const p99Ratio = gql.latency.p99 / handResult.latency.p99;
        const vanillaShare = gql.rps / plain.rps;
        const vanillaP99 = gql.latency.p99 / plain.latency.p99;
        const pass = share >= SHARE_TARGET && vanillaShare >= VANILLA_SHARE_TARGET && (!p99Judged || p99Ratio <= P99_RATIO_TARGET);
        const base = { case: CASE, subject, concurrency: connections };
        rows.push({ ...base, variant: "pgbench (bare SQL)", rps: sql.rps, latency: sql.latency, outcome: "info" });
        rows.push({
          ...base,
          variant: "hand-written",
          rps: handResult.rps,
          latency: handResult.latency,
          ratio: { value: handResult.rps / sql.rps, of: "of pgbench req/s" },
          outcome: "info",
        });
        rows.push({
          ...base,
          variant: VANILLA_VARIANT,
          rps: plain.rps,
          latency: plain.latency,
          ratio: { value: plain.rps / handResult.rps, of: "of hand-written req/s" },
          outcome: "info",
        });
        rows.push({
          ...base,
          variant: "GraphQL API",
          rps: gql.rps,
          latency: gql.latency,
          ratio: { value: share, of: "of hand-written req/s" },
          target: `≥ ${SHARE_TARGET.toFixed(2)}${p99Judged ? `; p99 ≤ ${P99_RATIO_TARGET} × hand-written` : ""}; ≥ ${VANILLA_SHARE_TARGET.toFixed(2)} of vanilla req/s`,
          outcome: pass ? "pass" : "fail",
          note: `${p99Judged ? `p99 ${p99Ratio.toFixed(2)} × hand-written; ` : ""}${vanillaShare.toFixed(2)} of vanilla req/s, p99 ${vanillaP99.toFixed(2)} × vanilla`,
        });
      }
    }
  } finally {
    await Promise.all([api.stop(), hand.stop(), vanilla.stop()]);
  }
  return { rows, problems };
}
