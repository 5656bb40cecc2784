/**
 * `alwrity entitlements resync` and `over-limit`, as an operator runs them, on
 * a deployment of this file's own (resync writes every account): without any
 * worker, the resync carries each account's plan to the user-data database,
 * and the over-limit report lists a user whose data exceeds a downgraded plan.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { Databases } from "../../src/db/databases.ts";
import { requestPlanChange } from "../../src/services/plans.ts";
import { connect } from "../support/connect.ts";
import { databasesFor, endpointsEnv, newUser, ownDeployment } from "../support/databases.ts";
import { runScript } from "../support/run-script.ts";

const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");
const endpoints = ownDeployment();
let databases: Databases;

beforeAll(() => {
  databases = databasesFor(endpoints());
});
afterAll(() => databases?.close());

const alwrity = (args: string[]) => runScript(CLI, args, endpointsEnv(endpoints()));

test("resync carries every account's plan to the user-data database; over-limit lists who exceeds theirs", async () => {
  const pro = await newUser(databases);
  const crowded = await newUser(databases);
  await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, pro, "Pro"));
  // Crowded made five projects on Enterprise, then was moved down to Free at once.
  await connect({ connectionString: endpoints().userData.migrationUrl }, (owner) =>
    owner.query("insert into user_data.user_projects (user_id, project_name, project_type) select $1, 'p' || g, 'blog' from generate_series(1, 5) g", [crowded]),
  );
  await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, crowded, "Free", { atPeriodEnd: false }));

  const resync = await alwrity(["entitlements", "resync", "--json"]);
  expect(resync).toMatchObject({ code: 0, stderr: "" });
  expect(JSON.parse(resync.stdout)).toEqual({ users: 2, overLimit: 1 });
  const plans = await Promise.all(
    [pro, crowded].map(async (user) =>
      (await databases.userData.withUserContext(user, (s) => s.query<{ plan_name: string }>("select plan_name from user_data.user_entitlements"))).rows[0]?.plan_name,
    ),
  );
  expect(plans).toEqual(["Pro", "Free"]);

  const report = await alwrity(["entitlements", "over-limit", "--json"]);
  expect(report).toMatchObject({ code: 0, stderr: "" });
  expect(JSON.parse(report.stdout)).toEqual([expect.objectContaining({ user_id: crowded, plan_name: "Free", projects: "5", max_projects: "3" })]);
  const text = await alwrity(["entitlements", "over-limit"]);
  expect(text.stdout).toContain(crowded);
  expect(text.stdout).toContain("Free: projects 5/3, personas 0/1");
});

test("a wrong command is refused with what there is", async () => {
  const run = await alwrity(["entitlements", "refresh"]);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("alwrity entitlements needs a command (resync, over-limit)");
});
