/**
 * DB_MAX_PARALLEL_WORKERS: a user's transaction plans serially by default, so
 * one large count cannot take every core of the server. The planner is coaxed
 * towards a parallel plan (parallelism made free) inside the user's own
 * transaction; with the default it still plans without a Gather, and with the
 * setting raised the same statement gets one, which shows the check can see it.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { FAIR_USE_DEFAULTS, type Config } from "../../src/config.ts";
import { createProject } from "../../src/services/projects.ts";
import { newUser, sharedEndpoints } from "../support/databases.ts";

const POOL: Config["pool"] = { size: 2, maxOverflow: 0, timeoutMs: 10_000, recycleSeconds: 3600 };
let serial: Databases;
let parallel: Databases;
let userId: string;

beforeAll(async () => {
  serial = createDatabases(sharedEndpoints(), { pool: POOL, echo: false });
  parallel = createDatabases(sharedEndpoints(), { pool: POOL, echo: false, fairUse: { ...FAIR_USE_DEFAULTS, parallelWorkers: 2 } });
  userId = await newUser(serial);
  await serial.userData.withUserContext(userId, async (s) => {
    const project = await createProject(s, { projectName: "counted", projectType: "blog" });
    await s.query(
      `insert into user_data.user_content_assets (project_id, asset_type, title, content)
       select $1, 'blog_post', 'asset ' || g, '' from generate_series(1, 500) g`,
      [project.id],
    );
  });
});
afterAll(async () => {
  await serial?.close();
  await parallel?.close();
});

/** The plan of a count over the user's assets, as the user, with parallel plans made as cheap as they can be. */
const countPlan = (databases: Databases) =>
  databases.userData.withUserContext(userId, async (s) => {
    for (const setting of ["parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size", "min_parallel_index_scan_size"]) {
      await s.query("select set_config($1, '0', true)", [setting]);
    }
    await s.query("select set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_indexonlyscan', 'off', true)");
    const { rows } = await s.query<{ "QUERY PLAN": string }>("explain (costs off) select count(*) from user_data.user_content_assets");
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  });

test("by default a user's transaction plans without parallel workers", async () => {
  const plan = await countPlan(serial);
  expect(plan).toContain("Aggregate");
  expect(plan).not.toMatch(/Gather|Parallel/);
});

test("with DB_MAX_PARALLEL_WORKERS raised the same count plans in parallel (the check above can see it)", async () => {
  expect(await countPlan(parallel)).toMatch(/Gather/);
});
