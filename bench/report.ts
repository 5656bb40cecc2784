/**
 * The benchmark's results: one row per measurement, printed as a table and
 * written as JSON and Markdown with the machine they were measured on.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Machine } from "./machine.ts";
import type { Summary } from "./stats.ts";

export type Outcome = "pass" | "fail" | "info";

export interface ResultRow {
  /** e.g. "1 RLS overhead". */
  case: string;
  /** What was measured, e.g. "projects, newest first · small users". */
  subject: string;
  /** How, e.g. "RLS", "owner + filter", "GraphQL API", "hand-written", "pgbench". */
  variant: string;
  concurrency?: number;
  /** Requests (or transactions) per second. */
  rps?: number;
  latency?: Summary;
  /** A comparison with the row it is measured against, e.g. { value: 1.02, of: "RLS / owner (p50)" }. */
  ratio?: { value: number; of: string };
  /** The target this row is judged by, when it has one. */
  target?: string;
  outcome: Outcome;
  note?: string;
}

export interface BenchReport {
  startedAt: string;
  seconds: number;
  mode: "full" | "smoke" | `cases ${string}`;
  machine: Machine;
  dataset: Record<string, unknown>;
  /** Headline numbers (also stated in bench/README.md). */
  headline: Record<string, string>;
  rows: ResultRow[];
  /** Plan regressions and broken measurements: each makes the exit code non-zero. */
  problems: string[];
}

// A load with no successful answer has no latency: its summary arrives from the load process as null.
const ms = (v: number | null | undefined) => (v === undefined || v === null || Number.isNaN(v) ? "" : v < 10 ? v.toFixed(2) : v.toFixed(1));
const OUTCOME = { pass: "PASS", fail: "FAIL", info: "" } as const;

function cells(row: ResultRow): string[] {
  return [
    row.case,
    row.subject,
    row.variant,
    row.concurrency === undefined ? "" : String(row.concurrency),
    row.rps === undefined ? "" : Math.round(row.rps).toString(),
    ms(row.latency?.mean),
    ms(row.latency?.p50),
    ms(row.latency?.p95),
    ms(row.latency?.p99),
    row.ratio ? `${row.ratio.value.toFixed(2)} ${row.ratio.of}` : "",
    row.target ?? "",
    OUTCOME[row.outcome],
    row.note ?? "",
  ];
}

const HEADERS = ["case", "subject", "variant", "conc.", "req/s", "mean ms", "p50 ms", "p95 ms", "p99 ms", "ratio", "target", "result", "note"];
const NUMERIC = new Set([3, 4, 5, 6, 7, 8]);

export function textTable(rows: ResultRow[]): string {
  const table = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (NUMERIC.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(table[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n");
}

function machineLines(report: BenchReport): string[] {
  const m = report.machine;
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.os}`,
    `- Node ${m.node}; PostgreSQL ${m.postgres} (embedded); ${m.pgbench}`,
    `- data set: ${Object.entries(report.dataset).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  ];
}

export function markdown(report: BenchReport): string {
  const escape = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `# Benchmark results (${report.mode} run)`,
    "",
    `Measured ${report.startedAt} in ${Math.round(report.seconds)} s by \`npm run bench\`${report.mode === "smoke" ? " -- --smoke" : report.mode.startsWith("cases") ? ` -- --${report.mode}` : ""}; see [bench/README.md](../README.md) for how to read this.`,
    "",
    ...machineLines(report),
    "",
    ...Object.entries(report.headline).map(([k, v]) => `- **${k}**: ${v}`),
    "",
    `| ${HEADERS.join(" | ")} |`,
    `| ${HEADERS.map((_, i) => (NUMERIC.has(i) ? "---:" : "---")).join(" | ")} |`,
    ...report.rows.map((r) => `| ${cells(r).map(escape).join(" | ")} |`),
    "",
    ...(report.problems.length ? ["## Problems", "", ...report.problems.map((p) => `- ${p.split("\n")[0]}`), ""] : []),
  ].join("\n");
}

/** Writes latest.json and latest.md (through temporary files, so a failed run leaves the last good pair). */
export function writeReport(report: BenchReport, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ["latest.json", JSON.stringify(report, null, 2) + "\n"],
    ["latest.md", markdown(report)],
  ];
  for (const [name, content] of files) writeFileSync(path.join(outDir, `${name}.tmp`), content);
  for (const [name] of files) renameSync(path.join(outDir, `${name}.tmp`), path.join(outDir, name));
}
