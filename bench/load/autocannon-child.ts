/**
 * The HTTP load generator, run as its own process (so it does not share an
 * event loop with the server it measures): reads a LoadSpec as JSON on stdin,
 * rotates through its requests (one per signed-in user) on every connection,
 * and prints a LoadResult as JSON on stdout.
 */
import autocannon from "autocannon";
import { summarize } from "../stats.ts";
import type { LoadResult, LoadSpec } from "./http-load.ts";

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

function run(spec: LoadSpec, seconds: number, latencies: number[] | null): Promise<autocannon.Result> {
  let next = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        // A GraphQL error comes back with status 200: a body that mentions errors counts as a failure.
        verifyBody: (body) => !String(body ?? "").includes('"errors"'),
        requests: [
          {
            setupRequest: (request) => {
              const r = spec.requests[next++ % spec.requests.length]!;
              return { ...request, method: r.method, path: r.path, headers: r.headers, body: r.body };
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (latencies) {
      instance.on("response", (_client, statusCode, _bytes, responseTime) => {
        if (statusCode < 300) latencies.push(responseTime);
      });
    }
  });
}

const spec = JSON.parse(await readStdin()) as LoadSpec;
if (spec.warmupSeconds > 0) await run(spec, spec.warmupSeconds, null);
const latencies: number[] = [];
const started = performance.now();
const result = await run(spec, spec.seconds, latencies);
const elapsed = (performance.now() - started) / 1000;
const output: LoadResult = {
  rps: latencies.length / elapsed,
  latency: summarize(latencies),
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  mismatches: result.mismatches,
};
process.stdout.write(JSON.stringify(output));
