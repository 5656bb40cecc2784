#!/usr/bin/env node
/**
 * `npm run bench:profile`: where a request's CPU goes. For each hot operation,
 * the GraphQL API, vanilla PostGraphile and the hand-written handler each run as their own process
 * (bench/profile-target.ts) on a fresh copy of a small data set, under the
 * same HTTP load (8 concurrent, one user per request in turn); V8's sampling
 * profiler runs only while the load does. Each sample's own frame is put in a
 * layer (HTTP, token check, GraphQL parse/validate, planning and execution,
 * SQL generation, the pg driver, JSON, GC, …) and the table shows CPU time per
 * request in each layer, side by side. `--seconds N` (default 8), `--out FILE`
 * (default: print only). `--heavy` adds one more table, the API only: the
 * tenant-skew case's heavy listing (the heaviest user's newest assets across
 * projects with totalCount) beside a small user's project page, so the two
 * requests' costs compare layer by layer.
 */
import "./production-mode.ts";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { primeAndCheck, productionEnv } from "./api-under-test.ts";
import { runHttpLoad, type HttpRequestSpec } from "./load/http-load.ts";
import { prepareServers } from "./servers.ts";
import { graphqlDocumentRequests, graphqlRequests, HEAVY_LISTING, handWrittenRequests, makeClerkKeys, OPERATION_LABELS, sampleUsers, tokensFor, vanillaRequests, type Operation } from "./workload.ts";

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
  if (url.includes("/bench/vanilla-postgraphile")) return "vanilla's context (token check into settings)";
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

type Kind = "api" | "vanilla" | "hand";
const KIND_LABELS: Record<Kind, string> = { api: "GraphQL API", vanilla: "vanilla PostGraphile", hand: "hand-written" };

interface Measured {
  label: string;
  perRequest: Map<string, number>;
  rps: number;
}

async function profileOne(kind: Kind, env: Record<string, string>, deployment: Deployment) {
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
  /** One server process under the load of `requests`, sampled: CPU µs per request by layer. */
  const measure = async (deployment: Deployment, kind: Kind, label: string, requests: HttpRequestSpec[], name: string): Promise<Measured> => {
    const target = await profileOne(kind, productionEnv(deployment, keys), deployment);
    await primeAndCheck(target.url, requests);
    target.child.stdin!.write("start\n");
    await target.next();
    const load = await runHttpLoad({ url: target.url, connections: 8, seconds, warmupSeconds: 0, requests });
    const file = path.join(dir, `${name}.cpuprofile`);
    target.child.stdin!.write(`stop ${file}\n`);
    await target.exited;
    const served = load.rps * seconds;
    const perRequest = new Map([...cpuByLayer(JSON.parse(readFileSync(file, "utf8")) as CpuProfile)].map(([layer, ms]) => [layer, (ms * 1000) / served]));
    return { label, perRequest, rps: load.rps };
  };
  /** One table: the first column's layers, biggest first. */
  const table = (title: string, results: Measured[]) => {
    const first = results[0]!;
    const layers = [...new Set(results.flatMap((r) => [...r.perRequest.keys()]))].sort((a, b) => (first.perRequest.get(b) ?? 0) - (first.perRequest.get(a) ?? 0));
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    lines.push(`### ${title}`, "", `${results.map((r) => `${r.label} ${r.rps.toFixed(0)} req/s`).join(", ")} (8 concurrent, ${seconds} s each)`, "");
    lines.push(`| layer | ${results.map((r) => `${r.label} µs/request`).join(" | ")} |`, `| --- |${results.map(() => " ---: |").join("")}`);
    for (const layer of layers) lines.push(`| ${layer} | ${results.map((r) => (r.perRequest.get(layer) ?? 0).toFixed(0)).join(" | ")} |`);
    lines.push(`| **CPU per request** | ${results.map((r) => `**${total(r.perRequest).toFixed(0)}**`).join(" | ")} |`, "");
  };
  try {
    for (const op of Object.keys(OPERATION_LABELS) as Operation[]) {
      const deployment = await servers.fresh(`profile-${op}`);
      const results: Measured[] = [];
      try {
        for (const kind of ["api", "vanilla", "hand"] as const) {
          const requests = kind === "api" ? graphqlRequests(op, users) : kind === "vanilla" ? vanillaRequests(op, users) : handWrittenRequests(op, users);
          results.push(await measure(deployment, kind, KIND_LABELS[kind], requests, `${op}-${kind}`));
        }
      } finally {
        await deployment.close();
      }
      table(OPERATION_LABELS[op], results);
    }
    if (process.argv.includes("--heavy")) {
      const deployment = await servers.fresh("profile-heavy");
      try {
        const small = graphqlRequests("projectAssets", users);
        const heavy = graphqlDocumentRequests(HEAVY_LISTING, tokensFor(keys, [1]));
        const results: Measured[] = [];
        for (const [label, requests, name] of [[`small users: ${OPERATION_LABELS.projectAssets}`, small, "small"], ["heavy user: newest 20 of all + totalCount", heavy, "heavy"]] as const) {
          results.push(await measure(deployment, "api", label, requests, `heavy-${name}`));
        }
        table("tenant skew (GraphQL API only)", results);
      } finally {
        await deployment.close();
      }
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
