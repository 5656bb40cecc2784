/**
 * The benchmark's command-line flags and the sizes they resolve to. Defaults
 * are the full run; --smoke shrinks everything so the whole benchmark runs in
 * seconds (a vitest test runs it that way, so this code cannot rot).
 */
import { tmpdir } from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../src/config.ts";
import type { Operation } from "./workload.ts";

export interface BenchOptions {
  smoke: boolean;
  /** --strict: missed speed targets make the exit code non-zero (plan regressions always do). */
  strict: boolean;
  users: number;
  assets: number;
  /** Users given a large share of all assets each (the skew), in order: the first is the heaviest. */
  heavyShares: number[];
  /** Projects of a heavy user; other users have 1 to 8. */
  heavyProjects: number;
  /** RLS case: timed iterations per query for small users, and for heavy users. */
  rlsIterations: number;
  rlsHeavyIterations: number;
  /** Seconds of load per measured run (pgbench: at least 1), and of discarded warm-up before it. */
  seconds: number;
  warmupSeconds: number;
  concurrency: number[];
  /** Operations put under load in case 2 (all of them are checked against both servers first). */
  operations: Operation[];
  poolSizes: number[];
  /** Distinct signed-in users the HTTP load rotates through. */
  tokenUsers: number;
  /** Cold starts on an existing data directory (the median is reported). */
  coldStarts: number;
  /** Usage case: events in the usage log at its two quota-check measurements (small, large). */
  usageEvents: [number, number];
  /** Usage case: timed quota checks per measurement. */
  usageIterations: number;
  /** --cases 2,6: only these cases (1–8); a partial run writes its results to a temporary folder unless --out is given. */
  cases: ReadonlySet<number>;
  outDir: string;
}

export const ALL_CASES = [1, 2, 3, 4, 5, 6, 7, 8] as const;

const FULL = {
  users: 10_000,
  assets: 1_000_000,
  rlsIterations: 1500,
  rlsHeavyIterations: 60,
  seconds: 6,
  warmupSeconds: 2,
  concurrency: [1, 8, 32],
  operations: ["projects", "projectAssets", "createAsset"] as Operation[],
  poolSizes: [5, 10, 20, 40],
  tokenUsers: 1000,
  coldStarts: 3,
  usageEvents: [10_000, 10_000_000] as [number, number],
  usageIterations: 2000,
};

// Small enough to stay well under a minute on a loaded 2-core machine: it proves the code runs, not speed.
const SMOKE: typeof FULL = {
  users: 100,
  assets: 3_000,
  rlsIterations: 10,
  rlsHeavyIterations: 3,
  seconds: 0.3,
  warmupSeconds: 0,
  concurrency: [4],
  operations: ["projectAssets"],
  poolSizes: [5],
  tokenUsers: 40,
  coldStarts: 1,
  usageEvents: [10_000, 200_000],
  usageIterations: 100,
};

const USAGE = `usage: npm run bench -- [--smoke] [--strict] [--users N] [--assets N] [--seconds N]
       [--concurrency 1,8,32] [--pool-sizes 5,10,20,40] [--rls-iterations N]
       [--usage-events N] [--usage-iterations N] [--cases 2,6] [--out DIR]`;

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (["smoke", "strict", "help"].includes(name)) flags.set(name, true);
    else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
      flags.set(name, value);
    }
  }
  if (flags.has("help")) throw new Error(USAGE);
  const smoke = flags.get("smoke") === true;
  const base = smoke ? SMOKE : FULL;
  const take = (name: string) => {
    const value = flags.get(name);
    flags.delete(name);
    return typeof value === "string" ? value : undefined;
  };
  const int = (name: string, fallback: number, min: number) => {
    const raw = take(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number from ${min} up`);
    return n;
  };
  const decimal = (name: string, fallback: number, min: number) => {
    const raw = take(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number from ${min} up`);
    return n;
  };
  const list = (name: string, fallback: number[]) => {
    const raw = take(name);
    if (raw === undefined) return fallback;
    const values = raw.split(",").map(Number);
    if (values.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name} must be a comma-separated list of whole numbers`);
    return values;
  };
  flags.delete("smoke");
  const strict = flags.delete("strict");
  const cases = new Set(list("cases", [...ALL_CASES]));
  const unknownCase = [...cases].find((n) => !(ALL_CASES as readonly number[]).includes(n));
  if (unknownCase !== undefined) throw new Error(`--cases: there is no case ${unknownCase} (cases are ${ALL_CASES.join(", ")})`);
  const partial = cases.size < ALL_CASES.length;
  const options: BenchOptions = {
    smoke,
    strict,
    users: int("users", base.users, 50),
    assets: int("assets", base.assets, 1000),
    heavyShares: [0.3, 0.1, 0.05],
    heavyProjects: 50,
    rlsIterations: int("rls-iterations", base.rlsIterations, 1),
    rlsHeavyIterations: int("rls-heavy-iterations", base.rlsHeavyIterations, 1),
    seconds: decimal("seconds", base.seconds, 0.1),
    warmupSeconds: int("warmup-seconds", base.warmupSeconds, 0),
    concurrency: list("concurrency", base.concurrency),
    operations: base.operations,
    poolSizes: list("pool-sizes", base.poolSizes),
    tokenUsers: int("token-users", base.tokenUsers, 1),
    coldStarts: int("cold-starts", base.coldStarts, 1),
    usageEvents: [base.usageEvents[0], int("usage-events", base.usageEvents[1], base.usageEvents[0])],
    usageIterations: int("usage-iterations", base.usageIterations, 1),
    cases,
    // A smoke run or a run of some cases must not replace the committed results of a full run.
    outDir: path.resolve(
      take("out") ?? (smoke ? path.join(tmpdir(), "alwrity-bench-smoke") : partial ? path.join(tmpdir(), "alwrity-bench-cases") : path.join(PROJECT_ROOT, "bench", "results")),
    ),
  };
  const unknown = [...flags.keys()];
  if (unknown.length > 0) throw new Error(`unknown flag --${unknown[0]}\n${USAGE}`);
  return options;
}
