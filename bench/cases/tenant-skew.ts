/**
 * Case 5: does one heavy tenant slow everyone else down? Small users load
 * their project pages through the API alone; then beside a small user who
 * repeatedly lists their newest assets across all projects with a total count
 * (the control); then beside the heaviest user sending the same listing over
 * hundreds of thousands of assets. Each pair of loads runs as two processes at
 * once. The skew is the small users' p95 beside the heavy user over their p95
 * beside the control: on two cores any extra connections slow the others, and
 * what is asked of this case is that a tenant's size adds nothing to that.
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
  const plans = planUsers(shape);
  const heavyAssets = plans[0]!.assets;
  const controlUser = sampleUsers(shape, 1, Math.ceil(shape.users / 2))[0]!;
  const smallRequests = graphqlRequests("projectAssets", small);
  const heavyRequests = graphqlDocumentRequests(HEAVY_LISTING, tokensFor(keys, [1]));
  const controlRequests = graphqlDocumentRequests(HEAVY_LISTING, tokensFor(keys, [controlUser]));
  const api = await startApiUnderTest(productionConfig(deployment, keys), deployment);
  try {
    await primeAndCheck(api.url, smallRequests);
    await primeAndCheck(api.url, heavyRequests);
    await primeAndCheck(api.url, controlRequests);
    const load = { url: api.url, seconds: options.seconds, warmupSeconds: options.warmupSeconds };
    const alone = await runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests });
    const beside = (requests: typeof heavyRequests) =>
      Promise.all([
        runHttpLoad({ ...load, connections: SMALL_CONNECTIONS, requests: smallRequests }),
        runHttpLoad({ ...load, connections: HEAVY_CONNECTIONS, requests }),
      ]);
    const [besideControl, control] = await beside(controlRequests);
    const [besideHeavy, heavy] = await beside(heavyRequests);
    const results = [
      ["small users alone", alone],
      ["small users beside the control", besideControl],
      ["control user", control],
      ["small users beside the heavy one", besideHeavy],
      ["heavy user", heavy],
    ] as const;
    for (const [what, result] of results) {
      const problem = failureProblem(`tenant skew, ${what}`, result);
      if (problem) problems.push(problem);
    }
    const skew = besideHeavy.latency.p95 / besideControl.latency.p95;
    const base = { case: "5 tenant skew", variant: "GraphQL API", outcome: "info" as const };
    const smallSubject = `small users ${OPERATION_LABELS.projectAssets}`;
    rows.push({ ...base, subject: `${smallSubject}, alone`, concurrency: SMALL_CONNECTIONS, rps: alone.rps, latency: alone.latency });
    rows.push({
      ...base,
      subject: `${smallSubject}, a small user listing (control)`,
      concurrency: SMALL_CONNECTIONS,
      rps: besideControl.rps,
      latency: besideControl.latency,
      ratio: { value: besideControl.latency.p95 / alone.latency.p95, of: "p95 vs alone" },
    });
    rows.push({
      ...base,
      subject: `${smallSubject}, heavy user listing`,
      concurrency: SMALL_CONNECTIONS,
      rps: besideHeavy.rps,
      latency: besideHeavy.latency,
      ratio: { value: skew, of: "p95 vs control" },
      target: `≤ ${SKEW_TARGET}×`,
      outcome: skew <= SKEW_TARGET ? "pass" : "fail",
      note: `${(besideHeavy.latency.p95 / alone.latency.p95).toFixed(2)} × alone`,
    });
    const listing = "newest 20 of all + totalCount";
    rows.push({ ...base, subject: `control user (${plans[controlUser - 1]!.assets} assets): ${listing}`, concurrency: HEAVY_CONNECTIONS, rps: control.rps, latency: control.latency });
    rows.push({ ...base, subject: `heavy user (${heavyAssets} assets): ${listing}`, concurrency: HEAVY_CONNECTIONS, rps: heavy.rps, latency: heavy.latency });
  } finally {
    await api.stop();
  }
  return { rows, problems };
}
