/**
 * Runs one bounded HTTP load against a local server: spawns the load generator
 * (autocannon-child.ts) as a separate process and returns what it measured.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Summary } from "../stats.ts";

export interface HttpRequestSpec {
  method: "POST" | "GET";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  /** Base URL; only 127.0.0.1 is accepted. */
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Sent in turn, round-robin over all connections. */
  requests: HttpRequestSpec[];
}

export interface LoadResult {
  rps: number;
  /** Of the successful (2xx) responses. */
  latency: Summary;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx responses whose body carried GraphQL errors. */
  mismatches: number;
}

const CHILD = fileURLToPath(new URL("./autocannon-child.ts", import.meta.url));

export const failuresOf = (r: LoadResult) => r.non2xx + r.errors + r.mismatches;

export function runHttpLoad(spec: LoadSpec): Promise<LoadResult> {
  if (new URL(spec.url).hostname !== "127.0.0.1") throw new Error(`load goes to 127.0.0.1 only, not ${spec.url}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    // A hung generator must not hang the run: allow the planned time plus a margin.
    const limit = setTimeout(() => child.kill("SIGKILL"), (spec.seconds + spec.warmupSeconds + 30) * 1000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(limit);
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`load generator exited with ${code}: ${err.trim()}`));
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
