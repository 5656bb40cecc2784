/**
 * The benchmark in smoke mode (a tiny data set, one-second loads), end to end
 * as `npm run bench -- --smoke` runs it, so the benchmark's code cannot rot
 * between full runs. It checks that every case ran and reported, not speed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { BenchReport } from "../../bench/report.ts";

const out = mkdtempSync(path.join(tmpdir(), "alwrity-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("the smoke benchmark runs every case, finds no plan regression and writes its table", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, "bench/run.ts"), "--smoke", "--out", out], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  const report = JSON.parse(readFileSync(path.join(out, "latest.json"), "utf8")) as BenchReport;
  expect(report.problems).toEqual([]);
  expect([...new Set(report.rows.map((r) => r.case))]).toEqual([
    "1 RLS overhead",
    "2 API throughput",
    "3 pool sizing",
    "4 cold start",
    "5 tenant skew",
  ]);
  expect(new Set(report.rows.filter((r) => r.case.startsWith("2")).map((r) => r.variant))).toEqual(
    new Set(["GraphQL API", "hand-written", "pgbench (bare SQL)"]),
  );
  for (const row of report.rows) expect(row.latency!.count, `${row.subject} ${row.variant}`).toBeGreaterThan(0);
  expect(report.machine.postgres).toMatch(/^\d+/);
  expect(readFileSync(path.join(out, "latest.md"), "utf8")).toContain("| case | subject | variant |");
  expect(stdout).toContain("API share of the hand-written ceiling");
}, 60_000);
