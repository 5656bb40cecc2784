/**
 * The benchmark's plan check on real EXPLAIN output from the test databases:
 * it must accept the designed plan (index, user id in an InitPlan) and flag a
 * sequential scan, which makes `npm run bench` fail.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { planProblems, readPlan } from "../../bench/plan-check.ts";
import { asSentByApi, RLS_QUERIES } from "../../bench/cases/rls-overhead.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();
const client = new pg.Client(deployment.databases.userData.apiUrl);
beforeAll(() => client.connect());
afterAll(() => client.end());

/** EXPLAIN as a signed-in user, with planner settings that force one kind of plan. */
async function explainAsUser(sql: string, params: string[], planner: Record<string, string>) {
  await client.query("begin");
  try {
    await client.query("select set_config('role', $1, true), set_config('app.current_user_id', $2, true)", [
      deployment.topology.role("authenticated").name,
      randomUUID(),
    ]);
    for (const [name, value] of Object.entries(planner)) await client.query("select set_config($1, $2, true)", [name, value]);
    const { rows } = await client.query(`explain (format json, verbose) ${sql}`, params);
    return readPlan(rows[0]["QUERY PLAN"], "user_data");
  } finally {
    await client.query("rollback");
  }
}

test.each(RLS_QUERIES)("$name: an index plan with the user id in an InitPlan passes", async (query) => {
  const findings = await explainAsUser(asSentByApi(query), query.params(1), { enable_seqscan: "off" });
  expect(findings.userIdInitPlan).toBe(true);
  expect(planProblems(findings, true)).toEqual([]);
});

test("a sequential scan on a user-data table is reported as a regression", async () => {
  const off = { enable_indexscan: "off", enable_indexonlyscan: "off", enable_bitmapscan: "off" };
  const findings = await explainAsUser(asSentByApi(RLS_QUERIES[2]!), [], off);
  expect(planProblems(findings, true)).toContain("sequential scan on user_data.user_content_assets");
});
