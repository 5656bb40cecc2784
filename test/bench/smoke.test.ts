/**
 * The benchmark in smoke mode (a tiny data set, one-second loads), end to end
 * as `npm run bench -- --smoke` runs it, so the benchmark's code cannot rot
 * between full runs. It checks that every case ran and reported, not speed:
 * its time limit is generous, and everything the run writes (its servers'
 * data directories included) goes into one folder of the test's, removed
 * afterwards whatever happened, with the run itself stopped if still going.
 * The CPU profiler (`npm run bench:profile`) runs too, with half-second loads.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { BenchReport } from "../../bench/report.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "alwrity-bench-test-"));
chmodSync(scratch, 0o755); // the embedded servers' OS user must be able to enter it
const out = path.join(scratch, "results");
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

test("the smoke benchmark runs every case, finds no plan regression and writes its table", async () => {
  const run = promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, "bench/run.ts"), "--smoke", "--out", out], {
    cwd: PROJECT_ROOT,
    // TMPDIR: the run's throw-away folders land in the scratch folder too.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: scratch },
  });
  child = run.child;
  const { stdout } = await run;
  const report = JSON.parse(readFileSync(path.join(out, "latest.json"), "utf8")) as BenchReport;
  expect(report.problems).toEqual([]);
  expect([...new Set(report.rows.map((r) => r.case))]).toEqual([
    "1 RLS overhead",
    "2 API throughput",
    "3 pool sizing",
    "4 cold start",
    "5 tenant skew",
    "6 PgBouncer",
    "7 fairness",
    "8 usage metering",
  ]);
  expect(new Set(report.rows.filter((r) => r.case.startsWith("2")).map((r) => r.variant))).toEqual(
    new Set(["GraphQL API", "vanilla PostGraphile", "hand-written", "pgbench (bare SQL)"]),
  );
  // The fairness case's heavy user may be refused every time in a short run: that is the limits at work.
  const measured = report.rows.filter((r) => (r.latency || !r.case.startsWith("8")) && !(r.case.startsWith("7") && r.subject.startsWith("heavy user")));
  for (const row of measured) expect(row.latency!.count, `${row.subject} ${row.variant}`).toBeGreaterThan(0);
  const usage = report.rows.filter((r) => r.case.startsWith("8"));
  expect(usage.find((r) => r.subject === "usage events recorded")!.rps).toBeGreaterThan(0);
  expect(usage.filter((r) => r.ratio).map((r) => r.variant)).toEqual(["record_usage (quota check + insert)", "monthly_allowance (remaining)"]);
  expect(report.machine.postgres).toMatch(/^\d+/);
  expect(readFileSync(path.join(out, "latest.md"), "utf8")).toContain("| case | subject | variant |");
  expect(stdout).toContain("API share of the hand-written ceiling");
  expect(stdout).toMatch(/Usage metering: \d+ events\/s recorded/);
}, 300_000);

test("npm run bench:profile profiles every operation on the three servers, and with --heavy the tenant-skew pair, and writes its tables", async () => {
  const file = path.join(scratch, "profile.md");
  const run = promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, "bench/profile.ts"), "--seconds", "0.5", "--heavy", "--out", file], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: scratch },
  });
  child = run.child;
  await run;
  const text = readFileSync(file, "utf8");
  expect(text.match(/^### .+$/gm)).toEqual(["### (a) list my projects", "### (b) a project + 20 newest assets", "### (c) create an asset", "### tenant skew (GraphQL API only)"]);
  expect(text).toContain("| layer | GraphQL API µs/request | vanilla PostGraphile µs/request | hand-written µs/request |");
  const totals = [...text.matchAll(/^\| \*\*CPU per request\*\* \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\* \|$/gm)];
  expect(totals).toHaveLength(3);
  for (const [, ...perServer] of totals) for (const cpu of perServer) expect(Number(cpu!.replaceAll(",", ""))).toBeGreaterThan(0);
  expect(text).toMatch(/^\| \*\*CPU per request\*\* \| \*\*[1-9][\d,]*\*\* \| \*\*[1-9][\d,]*\*\* \|$/m);
}, 300_000);
