/**
 * The usage log's monthly partitions: the real job worker (a child process)
 * registers the daily ensure_usage_partitions schedule and, when the job runs,
 * creates the partitions USAGE_PARTITIONS_AHEAD months ahead; old months are
 * detached by `alwrity usage detach-partitions` only while their totals match
 * their logs; a month without a partition refuses usage with a clear error.
 * On a deployment of its own (it changes the partitions of the shared table).
 */
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { Databases } from "../../src/db/databases.ts";
import { detachUsagePartitions, recordUsage } from "../../src/services/usage.ts";
import { fileClient } from "../support/connect.ts";
import { databasesFor, endpointsEnv, newUser, ownDeployment } from "../support/databases.ts";
import { waitFor } from "../support/wait-for.ts";

const own = ownDeployment();
let databases: Databases;
const owner = fileClient(() => ({ connectionString: own().platform.migrationUrl }));

beforeAll(() => {
  databases = databasesFor(own());
});

afterAll(async () => {
  await databases?.close();
});

const childEnv = () => ({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...endpointsEnv(own()) });

async function partitions(): Promise<string[]> {
  const { rows } = await owner().query<{ relname: string }>(
    "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'platform.platform_usage_logs'::regclass order by 1",
  );
  return rows.map((r) => r.relname);
}

/** The partition name of the month `offset` months from now (UTC). */
function monthName(offset: number): string {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `platform_usage_logs_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}


test("the worker schedules ensure_usage_partitions daily, and the job creates partitions ahead", async () => {
  expect(await partitions()).toEqual(expect.arrayContaining([monthName(0), monthName(3)]));
  expect(await partitions()).not.toContain(monthName(6));
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "worker"], {
    cwd: PROJECT_ROOT,
    env: { ...childEnv(), USAGE_PARTITIONS_AHEAD: "6" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await waitFor("the crontab to be registered", async () => {
      const { rows } = await owner().query("select 1 from graphile_worker._private_known_crontabs where identifier = 'ensure_usage_partitions'");
      return rows.length ? true : undefined;
    });
    // What the schedule enqueues at 03:00 UTC, enqueued now.
    await owner().query("select graphile_worker.add_job('ensure_usage_partitions', job_key := 'ensure_usage_partitions')");
    await waitFor(`the job to create ${monthName(6)}\n${output}`, async () => ((await partitions()).includes(monthName(6)) ? true : undefined));
    expect(await partitions()).toEqual(expect.arrayContaining([4, 5, 6].map(monthName)));
    expect(output).toContain("usage_partitions_ensured");
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}, 120_000);

test("old partitions are detached only when their totals match their logs, and their totals stay", async () => {
  const [a, b] = [await newUser(databases), await newUser(databases)];
  await owner().query("select platform_private.create_usage_partition('2025-01-01')");
  await owner().query(
    `insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd, created_at)
     select u, 'blog_writer', 10, 0.01, timestamptz '2025-01-15 12:00Z' from unnest($1::uuid[]) u, generate_series(1, 5)`,
    [[a, b]],
  );
  // Totals that drifted from the logs (written behind the triggers' back) keep the partition attached.
  await owner().query("update platform.usage_monthly_totals set tokens_used = tokens_used + 1 where user_id = $1 and month = '2025-01-01'", [a]);
  await expect(databases.platform.withPlatformAdmin((admin) => detachUsagePartitions(admin, "2025-02-01"))).rejects.toThrow(
    `partition platform_usage_logs_y2025m01 is not detached: its monthly totals disagree with its logs for user(s) ${a}`,
  );
  expect(await partitions()).toContain("platform_usage_logs_y2025m01");
  await owner().query("update platform.usage_monthly_totals set tokens_used = tokens_used - 1 where user_id = $1 and month = '2025-01-01'", [a]);

  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "usage", "detach-partitions", "--older-than", "2025-02-01"],
    { cwd: PROJECT_ROOT, env: childEnv() },
  );
  expect(stdout).toContain("detached: platform_usage_logs_y2025m01_detached");
  expect(await partitions()).not.toContain("platform_usage_logs_y2025m01");
  const kept = await owner().query("select count(*)::int as n from platform_partitions.platform_usage_logs_y2025m01_detached");
  expect(kept.rows[0].n).toBe(10);
  const totals = await owner().query("select tokens_used, events from platform.usage_monthly_totals where month = '2025-01-01' and user_id = any ($1) order by 1", [[a, b]]);
  expect(totals.rows).toEqual([
    { tokens_used: "50", events: "5" },
    { tokens_used: "50", events: "5" },
  ]);
}, 120_000);

test("a month without a partition refuses usage loudly, naming what to run", async () => {
  const userId = await newUser(databases);
  const current = monthName(0);
  const { rows } = await owner().query<{ bound: string }>(
    "select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c where c.oid = $1::regclass",
    [`platform_partitions.${current}`],
  );
  await owner().query(`alter table platform.platform_usage_logs detach partition platform_partitions.${current}`);
  try {
    await expect(databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature: "blog_writer", tokensUsed: "1" }))).rejects.toMatchObject({
      code: "55000",
      message: expect.stringMatching(/^usage cannot be recorded: the usage log has no partition for \d{4}-\d{2}$/),
    });
  } finally {
    await owner().query(`alter table platform.platform_usage_logs attach partition platform_partitions.${current} ${rows[0]!.bound}`);
  }
  await databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature: "blog_writer", tokensUsed: "1" }));
}, 60_000);
