/**
 * The floor under both HTTP servers: the bare SQL of each operation, in the
 * same transaction (begin; set_config of role and user; the statement; commit)
 * run by pgbench as the API's login at the same concurrency, with no HTTP, no
 * token and no JavaScript. Per-transaction logs give the percentiles.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PGBENCH } from "../machine.ts";
import { summarize } from "../stats.ts";
import { ASSET_CONTENT, type Operation } from "../workload.ts";
import type { LoadResult } from "./http-load.ts";

const run = promisify(execFile);

// The md5 expressions are the SQL twins of userId() and projectId() in dataset.ts.
const USER = "md5('bench-user-' || :n::text)::uuid";
const FIRST_PROJECT = "md5('bench-project-' || :n::text || '-1')::uuid";

const STATEMENTS: Record<Operation, string> = {
  projects: "select id, project_name, project_type, created_at from user_data.user_projects order by created_at desc limit 20;",
  projectAssets: `select p.id, p.project_name, a.id as asset_id, a.title, a.asset_type, a.created_at from user_data.user_projects p left join lateral (select id, title, asset_type, created_at from user_data.user_content_assets a where a.user_id = p.user_id and a.project_id = p.id order by a.created_at desc limit 20) a on true where p.id = ${FIRST_PROJECT};`,
  createAsset: `insert into user_data.user_content_assets (project_id, asset_type, title, content) values (${FIRST_PROJECT}, 'blog_post', 'Bench post of user ' || :n::text, '${ASSET_CONTENT.replace(/'/g, "''")}') returning id, title, created_at;`,
};

export function pgbenchScript(op: Operation, role: string): string {
  return [
    "\\set n random(1, :users)",
    "begin;",
    `select set_config('role', '${role}', true), set_config('app.current_user_id', ${USER}::text, true);`,
    STATEMENTS[op],
    "commit;",
    "",
  ].join("\n");
}

export interface PgbenchSpec {
  /** The API's login (the authenticator) to the user-data database. */
  url: string;
  role: string;
  users: number;
  op: Operation;
  clients: number;
  seconds: number;
  warmupSeconds: number;
}

export async function runPgbench(spec: PgbenchSpec): Promise<LoadResult> {
  if (new URL(spec.url).hostname !== "127.0.0.1") throw new Error("pgbench goes to 127.0.0.1 only");
  const dir = mkdtempSync(path.join(tmpdir(), "alwrity-pgbench-"));
  try {
    const script = path.join(dir, `${spec.op}.sql`);
    writeFileSync(script, pgbenchScript(spec.op, spec.role));
    const args = (seconds: number) => [
      "--no-vacuum",
      "--protocol=prepared",
      `--client=${spec.clients}`,
      `--jobs=${Math.min(spec.clients, 2)}`,
      `--time=${Math.max(1, Math.round(seconds))}`,
      `--define=users=${spec.users}`,
      `--file=${script}`,
    ];
    if (spec.warmupSeconds > 0) await run(PGBENCH, [...args(spec.warmupSeconds), spec.url]);
    const { stdout } = await run(PGBENCH, [...args(spec.seconds), "--log", `--log-prefix=${path.join(dir, "tx")}`, spec.url], {
      timeout: (spec.seconds + 30) * 1000,
    });
    const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1]);
    const failed = Number(/^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? 0);
    // Log lines: client, transaction number, latency in µs, script, epoch seconds, µs.
    const latencies: number[] = [];
    for (const file of readdirSync(dir).filter((f) => f.startsWith("tx."))) {
      for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
        const fields = line.split(" ");
        if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
      }
    }
    if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return { rps: tps, latency: summarize(latencies), non2xx: 0, errors: failed, mismatches: 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
