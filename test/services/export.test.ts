/**
 * alwrity user export: one JSON document with everything about a user in
 * both databases and nothing of anyone else; streamed, so its peak memory
 * does not grow with the user's data (10,000 against 100,000 assets, the
 * real command in a child process, peak RSS read from /proc).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig, PROJECT_ROOT } from "../../src/config.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { deploymentEnv } from "../support/databases.ts";
import { userFixtures, type UserFixtures } from "../support/user-fixtures.ts";

const run = randomUUID().slice(0, 8);
const HEAP_MB = 40;
const dir = mkdtempSync(path.join(tmpdir(), "alwrity-export-"));
let databases: Databases;
let fixtures: UserFixtures;
let userWithData: UserFixtures["userWithData"];

beforeAll(async () => {
  const config = loadConfig(deploymentEnv());
  const deployment = await openDeployment(config, { provision: false });
  databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
  fixtures = await userFixtures(databases, run);
  userWithData = fixtures.userWithData;
}, 60_000);

afterAll(async () => {
  await fixtures?.cleanup();
  await databases?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the real command; answers its exit code and the highest peak RSS (VmHWM) seen in /proc while it ran. */
function exportTo(userId: string, out: string, heapMb?: number): Promise<{ code: number | null; output: string; peakKb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "user", "export", userId, "--out", out], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...deploymentEnv(), ...(heapMb ? { NODE_OPTIONS: `--max-old-space-size=${heapMb}` } : {}) },
    });
    let output = "";
    let peakKb = 0;
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // gone already
      }
    }, 20);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearInterval(timer);
      resolve({ code, output, peakKb });
    });
  });
}

test("the export holds the user's rows from every table of both databases, and nothing of another user", async () => {
  const me = await userWithData("exporter", 3);
  const other = await userWithData("bystander", 2);
  const file = path.join(dir, "me.json");
  const result = await exportTo(me, file);
  expect(result.code, result.output).toBe(0);
  const doc = JSON.parse(readFileSync(file, "utf8"));
  expect(doc.user_id).toBe(me);
  expect(doc.platform.account).toEqual([expect.objectContaining({ id: me, email: `exporter-${run}@example.com` })]);
  // Free from registration, then Pro: the history keeps both.
  expect(doc.platform.subscriptions).toHaveLength(2);
  expect(doc.platform.plan_changes).toEqual([expect.objectContaining({ user_id: me, kind: "upgrade" })]);
  expect(doc.user_data.entitlements).toEqual([expect.objectContaining({ user_id: me, plan_name: "Pro" })]);
  expect(doc.platform.usage_logs).toEqual([expect.objectContaining({ user_id: me, feature: "blog_writer" })]);
  expect(doc.user_data.profile).toEqual([expect.objectContaining({ user_id: me, business_name: "exporter" })]);
  expect(doc.user_data.projects).toHaveLength(1);
  expect(doc.user_data.personas).toHaveLength(1);
  expect(doc.user_data.assets).toHaveLength(3);
  const text = readFileSync(file, "utf8");
  expect(text).not.toContain(other);
  expect(text).not.toContain("bystander");
  // Every row of every table, as the owner sees them.
  const counts = await fixtures.userDataOwner.query(
    `select (select count(*) from user_data.user_content_assets where user_id = $1)::int as assets,
            (select count(*) from user_data.user_projects where user_id = $1)::int as projects`,
    [me],
  );
  expect(counts.rows[0]).toEqual({ assets: 3, projects: 1 });
  // The operator's export is in the audit log.
  const events = await fixtures.platformOwner.query("select details from platform_audit.events where kind = 'user.data_exported' and user_id = $1", [me]);
  expect(events.rows).toEqual([{ details: { requested_by: "operator" } }]);
}, 120_000);

test("exporting 100,000 assets fits in a JavaScript heap smaller than the document: it is streamed", async () => {
  const small = await userWithData("small", 10_000);
  const large = await userWithData("large", 100_000);
  // The heap is capped below the large document's size: a buffered export would die of it. The
  // small run, the baseline, runs under the same cap, so the two peaks are compared like with like.
  const smallRun = await exportTo(small, path.join(dir, "small.json"), HEAP_MB);
  const largeRun = await exportTo(large, path.join(dir, "large.json"), HEAP_MB);
  expect(smallRun.code, smallRun.output).toBe(0);
  expect(largeRun.code, largeRun.output).toBe(0);
  const largeBytes = statSync(path.join(dir, "large.json")).size;
  expect(largeBytes).toBeGreaterThan(30_000_000);
  console.log(`export peak RSS: 10,000 assets ${smallRun.peakKb} kB, 100,000 assets ${largeRun.peakKb} kB (document ${largeBytes} bytes)`);
  expect(largeBytes).toBeGreaterThan(HEAP_MB * 1024 * 1024);
  // Ten times the rows add less than the document itself (a buffered export would hold all of it, twice over as UTF-16).
  expect((largeRun.peakKb - smallRun.peakKb) * 1024).toBeLessThan(largeBytes);
  expect(JSON.parse(readFileSync(path.join(dir, "large.json"), "utf8")).user_data.assets).toHaveLength(100_000);
}, 300_000);
