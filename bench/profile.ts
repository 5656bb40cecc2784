#!/usr/bin/env node
/**
 * `npm run bench:profile`: where a request's CPU goes. For each hot operation,
 * the GraphQL API and the hand-written handler each run as their own process
 * (bench/profile-target.ts) on a fresh copy of a small data set, under the
 * same HTTP load (8 concurrent, one user per request in turn); V8's sampling
 * profiler runs only while the load does. Each sample's own frame is put in a
 * layer (HTTP, token check, GraphQL parse/validate, planning and execution,
 * SQL generation, the pg driver, JSON, GC, …) and the table shows CPU time per
 * request in each layer, side by side. `--seconds N` (default 8), `--out FILE`
 * (default: print only).
 */
import "./production-mode.ts";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { primeAndCheck } from "./api-under-test.ts";
import { runHttpLoad } from "./load/http-load.ts";
import { prepareServers } from "./servers.ts";
import { BENCH_API_ENV, graphqlRequests, handWrittenRequests, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor, type Operation } from "./workload.ts";

const TARGET = fileURLToPath(new URL("./profile-target.ts", import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The layer a frame belongs to, from its script's URL (and, for V8's pseudo-frames, its name). */
export function layerOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "V8 and native (unattributed)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) {
    if (pkg.startsWith("@clerk/") || pkg === "jose" || pkg.startsWith("@noble/")) return "token check (Clerk)";
    if (pkg === "graphql") return "GraphQL parse and validate";
    if (pkg === "grafast") return "Grafast planning and execution";
    if (pkg === "@dataplan/pg" || pkg === "pg-sql2" || pkg === "postgraphile" || pkg.startsWith("graphile-")) return "SQL generation (@dataplan/pg)";
    if (pkg === "pg" || pkg === "pg-protocol" || pkg === "pg-pool" || pkg === "pg-types" || pkg === "postgres-array" || pkg === "postgres-date") return "pg driver (queries, parsing rows)";
    if (pkg === "grafserv") return "grafserv (HTTP to GraphQL)";
    return `other library (${pkg})`;
  }
  if (url.startsWith("node:internal/crypto") || url === "node:crypto") return "token check (Clerk)";
  if (/^node:(_http|http|net|internal\/(http|net|stream|streams|js_stream))/.test(url)) return "HTTP and sockets (node)";
  if (url.startsWith("node:")) return "node internals (other)";
  if (url.includes("/src/")) return "this project's code";
  if (url.includes("/bench/")) return "the hand-written handler";
  if (url === "" && /^(stringify|parse)$/.test(functionName)) return "JSON";
  return "V8 builtins (other)";
}

/**
 * Milliseconds of CPU per layer (idle left out). A builtin (no script URL: Promise
 * machinery, RegExp, Array methods…) counts for the layer of the script that called it.
 */
export function cpuByLayer(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const layerOfNode = new Map<number, string>();
  for (const n of profile.nodes) {
    let layer = layerOf(n.callFrame);
    for (let up = parent.get(n.id); layer === "V8 builtins (other)" && up !== undefined; up = parent.get(up)) {
      const caller = byId.get(up)!;
      if (caller.callFrame.url) layer = layerOf(caller.callFrame);
    }
    layerOfNode.set(n.id, layer);
  }
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const layer = layerOfNode.get(id)!;
    if (layer === "idle") return;
    totals.set(layer, (totals.get(layer) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return totals;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function profileOne(kind: "api" | "hand", env: Record<string, string>, deployment: Deployment, op: Operation, seconds: number, dir: string) {
  const target = { prefix: deployment.topology.prefix, platform: deployment.platform, userData: deployment.userData };
  const child = spawn(process.execPath, [TARGET, kind, JSON.stringify(env), JSON.stringify(target)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the ${kind} server exited early`);
    return value as string;
  };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await next();
  return { child, url, next, exited };
}

async function main(): Promise<void> {
  const seconds = Number(option("seconds", "8"));
  const out = option("out", "");
  const shape = { users: 300, assets: 30_000, heavyShares: [0.3, 0.1, 0.05], heavyProjects: 50 };
  const servers = await prepareServers(shape);
  const dir = mkdtempSync(path.join(tmpdir(), "alwrity-profile-"));
  const keys = makeClerkKeys();
  const users = tokensFor(keys, sampleUsers(shape, 200, 4));
  const lines: string[] = [];
  try {
    for (const op of Object.keys(OPERATION_LABELS) as Operation[]) {
      const deployment = await servers.fresh(`profile-${op}`);
      const env = {
        ENVIRONMENT: "production",
        PLATFORM_DATABASE_URL: deployment.platform.apiUrl,
        USER_DATA_DATABASE_URL: deployment.userData.apiUrl,
        DATABASE_ENV_PREFIX: deployment.topology.prefix,
        CLERK_JWT_KEY: keys.publicKey,
        ...BENCH_API_ENV,
        API_HOST: "127.0.0.1",
        PORT: "0",
      };
      const results: Array<{ kind: string; perRequest: Map<string, number>; rps: number }> = [];
      try {
        for (const kind of ["api", "hand"] as const) {
          const target = await profileOne(kind, env, deployment, op, seconds, dir);
          const requests = kind === "api" ? graphqlRequests(op, users) : handWrittenRequests(op, users);
          await primeAndCheck(target.url, requests);
          target.child.stdin!.write("start\n");
          await target.next();
          const load = await runHttpLoad({ url: target.url, connections: 8, seconds, warmupSeconds: 0, requests });
          const file = path.join(dir, `${op}-${kind}.cpuprofile`);
          target.child.stdin!.write(`stop ${file}\n`);
          await target.exited;
          const served = load.rps * seconds;
          const perRequest = new Map([...cpuByLayer(JSON.parse(readFileSync(file, "utf8")) as CpuProfile)].map(([layer, ms]) => [layer, (ms * 1000) / served]));
          results.push({ kind, perRequest, rps: load.rps });
        }
      } finally {
        await deployment.close();
      }
      const [api, hand] = results as [(typeof results)[0], (typeof results)[0]];
      const layers = [...new Set([...api.perRequest.keys(), ...hand.perRequest.keys()])].sort((a, b) => (api.perRequest.get(b) ?? 0) - (api.perRequest.get(a) ?? 0));
      const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      lines.push(`### ${OPERATION_LABELS[op]}`, "", `GraphQL API ${api.rps.toFixed(0)} req/s, hand-written ${hand.rps.toFixed(0)} req/s (8 concurrent, ${seconds} s each)`, "");
      lines.push("| layer | API µs/request | hand-written µs/request |", "| --- | ---: | ---: |");
      for (const layer of layers) lines.push(`| ${layer} | ${(api.perRequest.get(layer) ?? 0).toFixed(0)} | ${(hand.perRequest.get(layer) ?? 0).toFixed(0)} |`);
      lines.push(`| **CPU per request** | **${total(api.perRequest).toFixed(0)}** | **${total(hand.perRequest).toFixed(0)}** |`, "");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    servers.cleanup();
  }
  const text = lines.join("\n");
  console.log(text);
  if (out) writeFileSync(out, `${text}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
