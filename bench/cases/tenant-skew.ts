/**
 * Case 5: does one heavy tenant slow everyone else down? Small users load
 * their project pages through the API, first alone, then while the heaviest
 * user repeatedly lists their newest assets across all projects with a total
 * count (hundreds of thousands of rows to count and sort; no index serves
 * "a user's assets by date" across projects). Both loads are separate
 * processes running at the same time.
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { primeAndCheck, productionConfig, startApiUnderTest } from "../api-under-test.ts";
import { planUsers, type DatasetShape } from "../dataset.ts";
import { runHttpLoad } from "../load/http-load.ts";
import type { ResultRow } from "../report.ts";
import { graphqlDocumentRequests, graphqlRequests, HEAVY_LISTING, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor } from "../workload.ts";
import { failureProblem, type LoadOptions } from "./api-throughput.ts";

const SMALL_CONNECTIONS = 8;
const HEAVY_CONNECTIONS = 2;
/** Small users' p95 beside the heavy user over their p95 alone. */
export const SKEW_TARGET = 1.5;

export async function runTenantSkew(deployment: Deployment, shape: DatasetShape, options: LoadOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const keys = makeClerkKeys();
  // The long tail: the second half of the users, a few dozen assets each.
  const small = tokensFor(keys, sampleUsers(shape, options.tokenUsers, Math.ceil(shape.users / 2)));
  const heavyAssets = planUsers(shape)[0]!.assets;
  const smallRequests = graphqlRequests("projectAssets", small);
  const heavyRequests = graphqlDocumentRequests(HEAVY_LISTING, tokensFor(keys, [1]));
  const api = await startApiUnderTest(productionConfig(deployment, keys), deployment);
  try {
    await primeAndCheck(api.url, smallRequests);
    await primeAndCheck(api.url, heavyRequests);
    const load = { url: api.url, seconds: options.seconds, warmupSeconds: options.warmupSeconds };
    const alone = await runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests });
    const [together, heavy] = await Promise.all([
      runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests }),
      runHttpLoad({ ...load, connections: HEAVY_CONNECTIONS, requests: heavyRequests }),
    ]);
    for (const [what, result] of [["small users alone", alone], ["small users beside the heavy one", together], ["heavy user", heavy]] as const) {
      const problem = failureProblem(`tenant skew, ${what}`, result);
      if (problem) problems.push(problem);
    }
    const base = { case: "5 tenant skew", variant: "GraphQL API", outcome: "info" as const };
    rows.push({ ...base, subject: `small users ${OPERATION_LABELS.projectAssets}, alone`, concurrency: SMALL_CONNECTIONS, rps: alone.rps, latency: alone.latency });
    rows.push({
      ...base,
      subject: `small users ${OPERATION_LABELS.projectAssets}, heavy user listing`,
      concurrency: SMALL_CONNECTIONS,
      rps: together.rps,
      latency: together.latency,
      ratio: { value: together.latency.p95 / alone.latency.p95, of: "p95 vs alone" },
      target: `≤ ${SKEW_TARGET}×`,
      outcome: together.latency.p95 / alone.latency.p95 <= SKEW_TARGET ? "pass" : "fail",
    });
    rows.push({
      ...base,
      subject: `heavy user (${heavyAssets} assets): newest 20 of all + totalCount`,
      concurrency: HEAVY_CONNECTIONS,
      rps: heavy.rps,
      latency: heavy.latency,
    });
  } finally {
    await api.stop();
  }
  return { rows, problems };
}
