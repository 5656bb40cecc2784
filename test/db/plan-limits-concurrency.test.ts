/**
 * Plan limits and plan changes under concurrency, through the real roles
 * (withUserContext, withPlatformAdmin), on the shared test deployment (the
 * transactions commit, for users this file registers): two creates at the limit cannot both get in,
 * many at once stop exactly at the limit, and parallel plan changes leave
 * exactly one current subscription. Entitlements reach the user-data
 * database through the same sync the job runs.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import { syncEntitlements } from "../../src/services/entitlements.ts";
import { requestAccountDeletion } from "../../src/services/erasure.ts";
import { requestPlanChange } from "../../src/services/plans.ts";
import { connect } from "../support/connect.ts";
import { databasesFor, newUser, sharedEndpoints } from "../support/databases.ts";

const endpoints = sharedEndpoints;
let databases: Databases;

beforeAll(() => {
  databases = databasesFor(endpoints(), { size: 12 });
});
afterAll(() => databases?.close());

const createProject = (userId: string, name: string) =>
  databases.userData.withUserContext(userId, (s) => s.query("insert into user_data.user_projects (project_name, project_type) values ($1, 'blog')", [name]));
const projectCount = async (userId: string) =>
  Number((await databases.userData.withUserContext(userId, (s) => s.query<{ n: string }>("select count(*) as n from user_data.user_projects"))).rows[0]!.n);

test("two creates at the limit at once: the second waits for the first, then is refused", async () => {
  const userId = await newUser(databases);
  await syncEntitlements(databases, userId); // Free: 3 projects
  await createProject(userId, "one");
  await createProject(userId, "two");

  let release!: () => void;
  let inserted!: () => void;
  const firstInserted = new Promise<void>((resolve) => (inserted = resolve));
  const first = databases.userData.withUserContext(userId, async (s) => {
    await s.query("insert into user_data.user_projects (project_name, project_type) values ('three (first)', 'blog')");
    inserted();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await firstInserted;
  let secondSettled = false;
  const second = createProject(userId, "three (second)").finally(() => (secondSettled = true));
  second.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(secondSettled, "the second create must wait for the first transaction").toBe(false);
  release();
  await first;
  await expect(second).rejects.toMatchObject({
    code: "53400",
    message: "project limit reached: the Free plan allows 3 projects (max_projects = 3), and 3 exist",
  });
  expect(await projectCount(userId)).toBe(3);
});

test("twelve creates at once stop exactly at the limit", async () => {
  const userId = await newUser(databases);
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => createProject(userId, `p${i}`)));
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(3);
  for (const o of outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected")) expect(o.reason).toMatchObject({ code: "53400" });
  expect(await projectCount(userId)).toBe(3);
});

test("parallel plan changes leave exactly one current subscription, and every change recorded", async () => {
  const userId = await newUser(databases);
  const plans = ["Pro", "Enterprise", "Free", "Pro", "Enterprise", "Free", "Pro", "Free", "Enterprise", "Pro"];
  await Promise.all(plans.map((plan) => databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, userId, plan, { atPeriodEnd: false }))));
  const { rows } = await databases.platform.withPlatformAdmin((admin) =>
    admin.query<{ live: string; changes: string }>(
      `select (select count(*) from platform.user_subscriptions where user_id = $1 and status <> 'canceled') as live,
              (select count(*) from platform.plan_changes where user_id = $1) as changes`,
      [userId],
    ),
  );
  expect(rows[0]).toEqual({ live: "1", changes: String(plans.length) });
});

test("entitlements follow plan changes, and a downgrade the data exceeds is kept and reported", async () => {
  const userId = await newUser(databases);
  await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, userId, "Pro"));
  expect(await syncEntitlements(databases, userId)).toMatchObject({ plan: "Pro", applied: true, projects: 0, overLimit: false });
  for (const name of ["a", "b", "c", "d", "e"]) await createProject(userId, name);

  const change = await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, userId, "Free", { atPeriodEnd: false }));
  expect(change).toMatchObject({ kind: "cancel", state: "applied" });
  expect(await syncEntitlements(databases, userId)).toMatchObject({ plan: "Free", applied: true, projects: 5, overLimit: true });
  const report = await databases.platform.withPlatformAdmin((admin) => admin.query("select plan_name, projects from platform_backend.over_limit_report where user_id = $1", [userId]));
  expect(report.rows).toEqual([{ plan_name: "Free", projects: "5" }]);
  await expect(createProject(userId, "f")).rejects.toMatchObject({ code: "53400" });
  expect(await projectCount(userId)).toBe(5);
});

test("a user the sync has not reached yet is held to the platform's Free limits (the two databases agree on them)", async () => {
  const userId = await newUser(databases);
  const platformFree = await databases.platform.withPlatformAdmin(async (admin) =>
    (await admin.query("select plan_name, max_projects, max_personas from platform_backend.entitlements_of($1)", [userId])).rows[0],
  );
  const userDataFallback = await databases.userData.withUserContext(userId, async (s) =>
    (await s.query("select plan_name, max_projects, max_personas from user_data.current_entitlements()")).rows[0],
  );
  expect(platformFree).toEqual({ plan_name: "Free", max_projects: "3", max_personas: "1" });
  expect(userDataFallback).toEqual(platformFree);
});

test("an account being erased keeps no entitlements: the sync removes them instead of writing", async () => {
  const userId = await newUser(databases);
  expect(await syncEntitlements(databases, userId)).toMatchObject({ erased: false, plan: "Free", applied: true });
  await databases.platform.withPlatformAdmin((admin) => requestAccountDeletion(admin, userId, "operator"));
  expect(await syncEntitlements(databases, userId)).toMatchObject({ erased: true });
  const left = await connect({ connectionString: endpoints().userData.migrationUrl }, (owner) =>
    owner.query<{ n: number }>("select count(*)::int as n from user_data.user_entitlements where user_id = $1", [userId]),
  );
  expect(left.rows[0]!.n).toBe(0);
});
