/**
 * Case 3: how many database connections the API can use. Operation (a) at the
 * highest concurrency, with the pool fixed at each size (no overflow), on the
 * real API; the answer is the size after which throughput stops rising.
 */
import type { Deployment } from "../../src/bootstrap/deployment.ts";
import { primeAndCheck, productionConfig, startApiUnderTest } from "../api-under-test.ts";
import type { DatasetShape } from "../dataset.ts";
import { runHttpLoad } from "../load/http-load.ts";
import type { ResultRow } from "../report.ts";
import { graphqlRequests, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor } from "../workload.ts";
import { failureProblem, type LoadOptions } from "./api-throughput.ts";

/** Within this fraction of the best throughput counts as having reached it (runs differ by a few percent). */
const REACHED = 0.95;

export async function runPoolSizing(deployment: Deployment, shape: DatasetShape, options: LoadOptions & { poolSizes: number[] }) {
  const rows: ResultRow[] = [];
  const problems: string[] = [];
  const keys = makeClerkKeys();
  const requests = graphqlRequests("projects", tokensFor(keys, sampleUsers(shape, options.tokenUsers)));
  const connections = Math.max(...options.concurrency);
  const measured: Array<{ size: number; rps: number }> = [];
  for (const size of options.poolSizes) {
    const api = await startApiUnderTest(productionConfig(deployment, keys, { size, maxOverflow: 0 }), deployment);
    try {
      await primeAndCheck(api.url, requests);
      const result = await runHttpLoad({ url: api.url, connections, seconds: options.seconds, warmupSeconds: options.warmupSeconds, requests });
      const problem = failureProblem(`pool size ${size}`, result);
      if (problem) problems.push(problem);
      const previous = measured.at(-1);
      measured.push({ size, rps: result.rps });
      rows.push({
        case: "3 pool sizing",
        subject: `${OPERATION_LABELS.projects}, pool ${size}`,
        variant: "GraphQL API",
        concurrency: connections,
        rps: result.rps,
        latency: result.latency,
        ratio: previous ? { value: result.rps / previous.rps, of: `of pool ${previous.size} req/s` } : undefined,
        outcome: "info",
      });
    } finally {
      await api.stop();
    }
  }
  // The plateau starts at the smallest size that comes within REACHED of the best.
  const best = Math.max(...measured.map((m) => m.rps));
  const worst = Math.min(...measured.map((m) => m.rps));
  const plateau = measured.find((m) => m.rps >= best * REACHED)!;
  const last = rows.at(-1)!;
  last.note = `throughput stops rising at pool size ${plateau.size} (all sizes within ${Math.round((best / worst - 1) * 100)} % of each other)`;
  return { rows, problems, plateau: plateau.size };
}
