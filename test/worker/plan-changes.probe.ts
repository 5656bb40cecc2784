/**
 * Plan changes and entitlements through the real job worker (`alwrity
 * worker`, a child process) on a deployment of this file's own, so no other
 * test's worker takes its jobs: the entitlements sync enqueued with a plan
 * change reaches the user-data database; a downgrade scheduled for the end of
 * the period is applied by the apply_plan_change job when the period ends,
 * even when the worker that was running at the time it was scheduled was
 * killed with SIGKILL and another one started.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { Databases } from "../../src/db/databases.ts";
import { requestPlanChange } from "../../src/services/plans.ts";
import { databasesFor, endpointsEnv, newUser, ownDeployment } from "../support/databases.ts";
import { waitFor } from "../support/wait-for.ts";

const endpoints = ownDeployment();
let databases: Databases;

beforeAll(() => {
  databases = databasesFor(endpoints());
});
afterAll(() => databases?.close());

function startWorkerProcess() {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "worker"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...endpointsEnv(endpoints()) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes("worker_started")) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`the worker exited: ${output}`));
    });
  });
  return { child, started, exited, output: () => output };
}


const entitlementsPlan = async (userId: string) =>
  (await databases.userData.withUserContext(userId, (s) => s.query<{ plan_name: string }>("select plan_name from user_data.user_entitlements"))).rows[0]?.plan_name;
const livePlan = async (userId: string) =>
  (
    await databases.platform.withUserContext(userId, (s) =>
      s.query<{ name: string }>("select p.name from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id where s.status <> 'canceled'"),
    )
  ).rows.map((r) => r.name);

test("a scheduled downgrade is applied by the job when the period ends, after its worker was killed; entitlements follow", async () => {
  const userId = await newUser(databases);
  const first = startWorkerProcess();
  await first.started;
  // Registration enqueued the first sync.
  await waitFor("Free entitlements", async () => ((await entitlementsPlan(userId)) === "Free" ? true : undefined));

  await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, userId, "Enterprise"));
  await waitFor("Enterprise entitlements", async () => ((await entitlementsPlan(userId)) === "Enterprise" ? true : undefined));

  const periodEnd = new Date(Date.now() + 4000);
  const change = await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, userId, "Pro", { source: "stripe", periodEnd }));
  expect(change).toMatchObject({ kind: "downgrade", state: "scheduled" });
  expect(new Date(change.effective_at).getTime()).toBe(periodEnd.getTime());
  first.child.kill("SIGKILL");
  expect(await first.exited).toBe(null);
  expect(await livePlan(userId)).toEqual(["Enterprise"]);

  const second = startWorkerProcess();
  try {
    await second.started;
    const applied = await waitFor("the downgrade", async () => ((await livePlan(userId))[0] === "Pro" ? Date.now() : undefined), 60_000, 50);
    expect(applied).toBeGreaterThanOrEqual(periodEnd.getTime());
    await waitFor("Pro entitlements", async () => ((await entitlementsPlan(userId)) === "Pro" ? true : undefined));
    const history = await databases.platform.withPlatformAdmin((admin) =>
      admin.query<{ kind: string; state: string }>("select kind, state from platform.plan_changes where user_id = $1 order by requested_at", [userId]),
    );
    expect(history.rows).toEqual([
      { kind: "upgrade", state: "applied" },
      { kind: "downgrade", state: "applied" },
    ]);
  } finally {
    second.child.kill("SIGTERM");
    await second.exited;
  }
}, 120_000);
