/**
 * Case 4: how long `npm start` takes to be useful. The clock starts when the
 * process (node src/cli/start.ts, what `npm start` runs, in development) is
 * spawned and stops when its first GraphQL request, a signed-in user's list
 * of projects, is answered. Once on a new data directory (initdb, roles,
 * migrations), then on that same, now existing, directory.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../../src/api/auth/dev-keys.ts";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { ResultRow } from "../report.ts";
import { median, summarize } from "../stats.ts";

export const COLD_START_TARGET_S = 3;
const GIVE_UP_MS = 120_000;

interface Start {
  /** Spawn to "ready" printed. */
  readySeconds: number;
  /** Spawn to the first answered request. */
  answeredSeconds: number;
}

async function startOnce(dataDir: string, token: string): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src/cli/start.ts")], {
    cwd: PROJECT_ROOT,
    // Only what start needs: in particular not the benchmark's GRAPHILE_ENV=production.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ENVIRONMENT: "development", EMBEDDED_PG_DATA_DIR: dataDir, EMBEDDED_PG_PORT: "0", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let output = "";
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start was not ready after ${GIVE_UP_MS / 1000} s:\n${output}`)), GIVE_UP_MS);
      child.stdout!.on("data", (chunk) => {
        output += chunk;
        const match = /GraphQL API: (\S+)/.exec(output);
        if (match && output.includes("ready")) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.stderr!.on("data", (chunk) => (output += chunk));
      child.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    const readySeconds = (performance.now() - started) / 1000;
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ projects { nodes { rowId } } }" }),
    });
    const body = (await response.json()) as { errors?: unknown };
    const answeredSeconds = (performance.now() - started) / 1000;
    if (response.status !== 200 || body.errors) throw new Error(`first request answered ${response.status}: ${JSON.stringify(body)}`);
    return { readySeconds, answeredSeconds };
  } finally {
    child.kill("SIGINT");
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000, "timeout"))]);
    if (stopped === "timeout") child.kill("SIGKILL");
  }
}

export async function runColdStart(parentDir: string, existingRuns: number) {
  const dataDir = path.join(parentDir, "cold-start", "pg");
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...devIdentity("cold-start@example.com"), iss: DEV_ISSUER });
  const fresh = await startOnce(dataDir, token);
  const existing: Start[] = [];
  for (let i = 0; i < existingRuns; i++) existing.push(await startOnce(dataDir, token));
  const typical = median(existing.map((s) => s.answeredSeconds));
  const asMs = (seconds: number[]) => summarize(seconds.map((s) => s * 1000));
  const rows: ResultRow[] = [
    {
      case: "4 cold start",
      subject: "npm start → first answer, new data directory",
      variant: "development",
      latency: asMs([fresh.answeredSeconds]),
      outcome: "info",
      note: `ready after ${fresh.readySeconds.toFixed(2)} s`,
    },
    {
      case: "4 cold start",
      subject: `npm start → first answer, existing data directory (${existingRuns} runs)`,
      variant: "development",
      latency: asMs(existing.map((s) => s.answeredSeconds)),
      target: `p50 ≤ ${COLD_START_TARGET_S} s`,
      outcome: typical <= COLD_START_TARGET_S ? "pass" : "fail",
      note: `ready after ${median(existing.map((s) => s.readySeconds)).toFixed(2)} s (median)`,
    },
  ];
  return { rows, problems: [] as string[], existingSeconds: typical, newSeconds: fresh.answeredSeconds };
}
