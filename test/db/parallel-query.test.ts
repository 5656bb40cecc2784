/**
 * DB_MAX_PARALLEL_WORKERS: a user's transaction plans serially by default, so
 * one large count cannot take every core of the server. The setting is the
 * transaction's own max_parallel_workers_per_gather (PostgreSQL plans no
 * Gather with 0), and the planner, coaxed towards a parallel plan
 * (parallelism made free) inside the user's transaction, still plans without
 * one. Whether it then picks a parallel plan with the setting raised depends
 * on the server (PostgreSQL 15 does, the embedded 18 may not), so the raised
 * case checks the setting itself.
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

/** The plan of a count over the user's assets, as the user, with parallel plans made as cheap as they can be; and the setting. */
const countPlan = (databases: Databases) =>
  databases.userData.withUserContext(userId, async (s) => {
    const workers = (await s.query<{ workers: string }>("select current_setting('max_parallel_workers_per_gather') as workers")).rows[0]!.workers;
    for (const setting of ["parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size", "min_parallel_index_scan_size"]) {
      await s.query("select set_config($1, '0', true)", [setting]);
    }
    await s.query("select set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_indexonlyscan', 'off', true)");
    const { rows } = await s.query<{ "QUERY PLAN": string }>("explain (costs off) select count(*) from user_data.user_content_assets");
    return { workers, plan: rows.map((r) => r["QUERY PLAN"]).join("\n") };
  });

test("by default a user's transaction allows no parallel workers and plans without them", async () => {
  const { workers, plan } = await countPlan(serial);
  expect(workers).toBe("0");
  expect(plan).toContain("Aggregate");
  expect(plan).not.toMatch(/Gather|Parallel/);
});

test("DB_MAX_PARALLEL_WORKERS raised is the transaction's max_parallel_workers_per_gather", async () => {
  expect((await countPlan(parallel)).workers).toBe("2");
});
