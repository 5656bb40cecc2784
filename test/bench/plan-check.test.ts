/**
 * The benchmark's plan check on real EXPLAIN output from the test databases:
 * it must accept the designed plan (index, user id in an InitPlan) and flag a
 * sequential scan, which makes `npm run bench` fail.
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { planProblems, readPlan } from "../../bench/plan-check.ts";
import { asSentByApi, RLS_QUERIES } from "../../bench/cases/rls-overhead.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { withUserDb } from "../support/with-user-db.ts";

const deployment = testDeployment();

/** EXPLAIN as a signed-in user, with planner settings that force one kind of plan. */
function explainAsUser(sql: string, params: string[], planner: Record<string, string>) {
  return withUserDb(deployment.databases.userData.apiUrl, deployment.topology, { kind: "user", userId: randomUUID() }, async (client) => {
    const { rows } = await client.query(`explain (format json, verbose) ${sql}`, params);
    return readPlan(rows[0]["QUERY PLAN"], "user_data");
  }, { settings: planner });
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
