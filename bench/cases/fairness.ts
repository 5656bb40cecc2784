/**
 * Case 7: can one user starve the others? On a pool of 2 (no overflow), small
 * users send a simple query, first alone, then while the heaviest user sends
 * the most expensive request the limits allow, over and over. The fair-use
 * rules (DB_MAX_USER_POOL_SHARE, DB_MAX_CONNECTIONS_PER_REQUEST) keep the heavy
 * user to their share of the pool; whatever they send beyond it is refused
 * with 429, which is the point, so the heavy user's refusals are counted, not
 * failures. Target: the small users' p95 beside the heavy one ≤ 3 × alone.
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { primeAndCheck, productionConfig, startApiUnderTest } from "../api-under-test.ts";
import { planUsers, type DatasetShape } from "../dataset.ts";
import { runHttpLoad, type HttpRequestSpec } from "../load/http-load.ts";
import type { ResultRow } from "../report.ts";
import { graphqlDocumentRequests, graphqlRequests, HEAVIEST_ALLOWED, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor } from "../workload.ts";
import { failureProblem, type LoadOptions } from "./api-throughput.ts";

const CASE = "7 fairness";
const POOL = { size: 2, maxOverflow: 0 };
const SMALL_CONNECTIONS = 4;
const HEAVY_CONNECTIONS = 4;
export const FAIRNESS_TARGET = 3;

/**
 * The heavy request must pass the limits (validation), but on a pool of 2 its
 * lists may not all get a connection in time: a 429 is the fair-use rule at
 * work, and counts as accepted here.
 */
async function checkAccepted(origin: string, request: HttpRequestSpec): Promise<void> {
  const response = await fetch(origin + request.path, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  const refusedByLimits = /OPERATION_LIMIT|PAGE_SIZE_LIMIT/.test(text);
  if (refusedByLimits || (response.status !== 200 && response.status !== 429) || (response.status === 200 && text.includes('"errors"'))) {
    throw new Error(`the heaviest allowed request answered ${response.status}: ${text.slice(0, 500)}`);
  }
}

export async function runFairness(deployment: Deployment, shape: DatasetShape, options: LoadOptions) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const keys = makeClerkKeys();
  const small = tokensFor(keys, sampleUsers(shape, options.tokenUsers, Math.ceil(shape.users / 2)));
  const smallRequests = graphqlRequests("projects", small);
  const heavyRequests = graphqlDocumentRequests(HEAVIEST_ALLOWED, tokensFor(keys, [1]));
  const api = await startApiUnderTest(productionConfig(deployment, keys, POOL), deployment);
  try {
    await primeAndCheck(api.url, smallRequests);
    await checkAccepted(api.url, heavyRequests[0]!);
    const load = { url: api.url, seconds: options.seconds, warmupSeconds: options.warmupSeconds };
    const alone = await runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests });
    const [together, heavy] = await Promise.all([
      runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests }),
      runHttpLoad({ ...load, connections: HEAVY_CONNECTIONS, requests: heavyRequests }),
    ]);
    for (const [what, result] of [["small users alone", alone], ["small users beside the heavy one", together]] as const) {
      const problem = failureProblem(`fairness, ${what}`, result);
      if (problem) problems.push(problem);
    }
    // The heavy user's refusals (429, or a list refused inside a 200 when its connection share did
    // not come in time) are the limits at work, counted in the note; a broken connection is not.
    if (heavy.errors > 0) problems.push(`fairness, heavy user: ${heavy.errors} connection errors`);
    const ratio = together.latency.p95 / alone.latency.p95;
    const subject = `small users ${OPERATION_LABELS.projects}, pool 2`;
    const base = { case: CASE, variant: "GraphQL API", concurrency: SMALL_CONNECTIONS };
    rows.push({ ...base, subject: `${subject}, alone`, rps: alone.rps, latency: alone.latency, outcome: "info" });
    rows.push({
      ...base,
      subject: `${subject}, heavy user at the limits`,
      rps: together.rps,
      latency: together.latency,
      ratio: { value: ratio, of: "p95 vs alone" },
      target: `≤ ${FAIRNESS_TARGET}×`,
      outcome: ratio <= FAIRNESS_TARGET ? "pass" : "fail",
    });
    rows.push({
      case: CASE,
      variant: "GraphQL API",
      subject: `heavy user (${planUsers(shape)[0]!.assets} assets): the heaviest request the limits allow`,
      note: `${heavy.non2xx} refused (429), ${heavy.mismatches} answered with errors, beyond the user's share of the pool`,
      concurrency: HEAVY_CONNECTIONS,
      rps: heavy.rps,
      latency: heavy.latency,
      outcome: "info",
    });
  } finally {
    await api.stop();
  }
  return { rows, problems };
}
