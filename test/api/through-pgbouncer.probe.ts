/**
 * The API through a real PgBouncer in transaction mode (the pooler managed
 * PostgreSQL services put in front of a server), as a real process: with
 * DATABASE_POOLER_MODE=transaction, 24 users creating and listing their
 * projects concurrently get no prepared-statement errors and never see each
 * other's rows, and a user still cannot reach another's project by id. The
 * control shows why the setting exists: without it, reads fail.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";
import { startMixedLoad, type Outcome } from "../support/mixed-load.ts";
import { giveUnlimitedPlan } from "../support/unlimited-plan.ts";
import { startPgbouncer, type Pgbouncer } from "../support/pgbouncer.ts";
import { testDeployment } from "../support/test-deployment.ts";

let bouncer: Pgbouncer;
const apis: ApiProcess[] = [];

beforeAll(async () => {
  const d = testDeployment();
  bouncer = await startPgbouncer([d.databases.platform.apiUrl, d.databases.userData.apiUrl], 4);
}, 60_000);

afterAll(async () => {
  for (const api of apis) await api.kill();
  await bouncer?.stop();
});

async function apiThroughBouncer(env: Record<string, string>): Promise<ApiProcess> {
  const d = testDeployment();
  const api = await startApiProcess({
    ...deploymentEnv(),
    PLATFORM_DATABASE_URL: bouncer.through(d.databases.platform.apiUrl),
    USER_DATA_DATABASE_URL: bouncer.through(d.databases.userData.apiUrl),
    DB_POOL_SIZE: "8",
    DB_MAX_OVERFLOW: "0",
    // The job worker needs sessions of its own, never a transaction pooler; these tests are about the API.
    WORKER_IN_PROCESS: "false",
    ...env,
  });
  apis.push(api);
  return api;
}

/** 12 creates per user are more than Free allows. */
const unlimited = {
  prepareUser: (clerkId: string) =>
    giveUnlimitedPlan({ platform: testDeployment().databases.platform.migrationUrl, userData: testDeployment().databases.userData.migrationUrl }, clerkId),
};

/** 26000: prepared statement "…" does not exist; 42P05: prepared statement "…" already exists. */
const preparedStatementErrors = (outcomes: Outcome[]) =>
  outcomes.flatMap((o) => o.codes.map((code, i) => `${code} ${o.messages[i]}`)).filter((e) => /^(26000|42P05) |prepared statement/i.test(e));

test("with DATABASE_POOLER_MODE=transaction: no prepared-statement errors, no user sees another's rows", async () => {
  const api = await apiThroughBouncer({ DATABASE_POOLER_MODE: "transaction" });
  const load = startMixedLoad(api, 24, 12, unlimited);
  await load.finished();
  expect(preparedStatementErrors(load.outcomes)).toEqual([]);
  expect(load.outcomes.filter((o) => !o.ok).map((o) => `${o.status} ${o.codes.join(",")}`)).toEqual([]);
  expect(load.outcomes.filter((o) => o.foreign?.length)).toEqual([]);
  expect(load.acknowledged()).toHaveLength(24 * 12);

  // A user cannot read another's project by its id, through the pooler either.
  const a = api.token(`user_bouncer_a_${Date.now()}`);
  const b = api.token(`user_bouncer_b_${Date.now()}`);
  const created = await gql(api.url, `mutation { createProject(input: { project: { projectName: "a's secret", projectType: BLOG } }) { project { rowId id } } }`, a);
  const { rowId, id } = created.body!.data.createProject.project;
  const byRowId = await gql(api.url, `query($id: UUID!) { project(rowId: $id) { projectName } }`, b, { id: rowId });
  expect(byRowId.body).toEqual({ data: { project: null } });
  const byNodeId = await gql(api.url, `query($id: ID!) { projectById(id: $id) { projectName } }`, b, { id });
  expect(byNodeId.body).toEqual({ data: { projectById: null } });
  const own = await gql(api.url, `query($id: UUID!) { project(rowId: $id) { projectName } }`, a, { id: rowId });
  expect(own.body).toEqual({ data: { project: { projectName: "a's secret" } } });
}, 120_000);

test("the control: without the setting, PostGraphile's prepared statements break through PgBouncer", async () => {
  const api = await apiThroughBouncer({});
  const load = startMixedLoad(api, 24, 12);
  await load.finished();
  expect(preparedStatementErrors(load.outcomes).length).toBeGreaterThan(0);
}, 120_000);
