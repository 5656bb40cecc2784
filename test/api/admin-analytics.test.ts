/**
 * Over HTTP: the remaining allowance a signed-in user reads in GraphQL, and
 * the admin analytics (GET /admin/analytics/<report>), which answer only a
 * verified session token carrying ADMIN_CLAIM. An ordinary user gets 403 and
 * no rows whatever else the request says; no token, 401; a forged admin token, 401.
 */
import { randomUUID } from "node:crypto";
import { fileClient } from "../support/connect.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateClerkKeyPair, signToken } from "../../src/api/auth/dev-keys.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { recordUsage } from "../../src/services/usage.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { AUTHORIZED_PARTY, startTestApi, TEST_ISSUER, type TestApi } from "./api-harness.ts";

const owner = fileClient(() => testDeployment().databases.platform.migrationUrl);

let api: TestApi;
let databases: Databases;
const run = randomUUID().slice(0, 8);
const feature = `feature_${run}`;

beforeAll(async () => {
  api = await startTestApi({ ADMIN_CLAIM: "metadata.role=admin" });
  const deployment = await openDeployment(api.config, { provision: false });
  databases = createDatabases(deployment, api.config, { onClose: () => deployment.close() });
}, 60_000);

afterAll(async () => {
  await databases?.close();
  await api?.stop();
});

const base = () => api.server.url.replace(/\/graphql$/, "");

async function analytics(path: string, token?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base()}/admin/analytics${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: response.status, body: (await response.json()) as { rows?: Record<string, string>[]; error?: string; reports?: { name: string }[] } };
}

/** Signs a user in through the API (which registers them) and answers their platform id. */
async function signIn(token: string): Promise<string> {
  const me = await api.gql<{ currentUser: { rowId: string } }>("{ currentUser { rowId } }", undefined, token);
  expect(me.errors).toBeUndefined();
  return me.data!.currentUser.rowId;
}

test("a signed-in user reads their remaining allowance for the month in GraphQL", async () => {
  const token = api.token({ sub: `user_allow_${run}` });
  const userId = await signIn(token);
  await databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature, tokensUsed: "1234", costUsd: "0.02" }));
  const now = new Date();
  const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const result = await api.gql("{ monthlyAllowance { tokensUsed tokenLimit tokensRemaining resetsAt } }", undefined, token);
  expect(result.errors).toBeUndefined();
  expect(result.data.monthlyAllowance).toMatchObject({ tokensUsed: "1234", tokenLimit: "50000", tokensRemaining: "48766" });
  expect(new Date(result.data.monthlyAllowance.resetsAt).getTime()).toBe(nextMonth.getTime());
  // Someone else's usage is not theirs: a second user starts at zero.
  const other = api.token({ sub: `user_allow_other_${run}` });
  await signIn(other);
  expect((await api.gql("{ monthlyAllowance { tokensUsed tokensRemaining } }", undefined, other)).data.monthlyAllowance).toEqual({ tokensUsed: "0", tokensRemaining: "50000" });
  expect((await api.gql("{ monthlyAllowance { tokensUsed } }")).data.monthlyAllowance).toBeNull();
});

test("an admin (verified claim) reads the analytics; the read is audited", async () => {
  const user = api.token({ sub: `user_heavy_${run}` });
  const userId = await signIn(user);
  await databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature, tokensUsed: "777", costUsd: "0.5" }));
  const admin = api.token({ sub: `user_admin_${run}`, metadata: { role: "admin" } });
  const adminId = await signIn(admin);

  const list = await analytics("", admin);
  expect(list.status).toBe(200);
  expect(list.body.reports!.map((r) => r.name)).toEqual(expect.arrayContaining(["daily-active-users", "plan-conversions", "heaviest-users"]));
  const byFeature = await analytics("/usage-by-feature", admin);
  expect(byFeature.status).toBe(200);
  expect(byFeature.body.rows!.find((r) => r.feature === feature)).toMatchObject({ users: "2", events: "2", tokens_used: "2011" });
  const heaviest = await analytics(`/heaviest-users?from=2020-01-01&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, admin);
  expect(heaviest.status).toBe(200);
  expect(heaviest.body.rows!.length).toBeGreaterThan(0);
  for (const report of ["daily-active-users", "monthly-active-users", "usage-by-plan", "plan-conversions", "feature-adoption"]) {
    expect((await analytics(`/${report}`, admin)).status, report).toBe(200);
  }
  expect((await analytics("/usage-by-feature?from=yesterday", admin)).body.error).toBe('from must be a date (YYYY-MM-DD) or an ISO timestamp, got "yesterday"');
  expect((await analytics("/nope", admin)).status).toBe(404);
  const audited = await owner().query("select details->>'report' as report from platform_audit.events where kind = 'analytics.read' and user_id = $1", [adminId]);
  expect(audited.rows.map((r) => r.report)).toContain("usage-by-feature");
});

test("an ordinary user gets nothing from the analytics, whatever the request claims", async () => {
  const user = api.token({ sub: `user_plain_${run}`, metadata: { role: "member" } });
  await signIn(user);
  for (const [path, headers] of [
    ["/usage-by-feature", {}],
    ["", {}],
    ["/heaviest-users?admin=true&role=admin", { "x-admin": "true", "x-role": "admin", "x-clerk-metadata": '{"role":"admin"}' }],
  ] as const) {
    const answer = await analytics(path, user, headers);
    expect(answer.status, path).toBe(403);
    expect(answer.body.rows).toBeUndefined();
  }
  expect((await analytics("/usage-by-feature")).status).toBe(401);
  // A token claiming admin, signed by a key the server does not trust.
  const forged = signToken(generateClerkKeyPair().privateKey, { sub: `user_forged_${run}`, azp: AUTHORIZED_PARTY, iss: TEST_ISSUER, metadata: { role: "admin" } });
  const answer = await analytics("/usage-by-feature", forged);
  expect(answer.status).toBe(401);
  expect(answer.body.rows).toBeUndefined();
  // And the analytics are not in the GraphQL API at all.
  const gql = await api.gql("{ __type(name: \"Query\") { fields { name } } }", undefined, user);
  expect(JSON.stringify(gql.data)).not.toMatch(/usageByFeature|heaviestUsers|planConversions/);
});

test("without ADMIN_CLAIM nobody is an admin through the API", async () => {
  const plain = await startTestApi();
  try {
    const token = plain.token({ sub: `user_noclaim_${run}`, metadata: { role: "admin" } });
    const response = await fetch(plain.server.url.replace(/\/graphql$/, "/admin/analytics/usage-by-feature"), { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(404);
  } finally {
    await plain.stop();
  }
});
