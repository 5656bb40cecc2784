/**
 * The GraphQL API over HTTP, against the real server and databases: isolation
 * between users, anonymous access, token checks, registration, and concurrency.
 */
import { randomUUID } from "node:crypto";
import { connect } from "../support/connect.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEV_ISSUER } from "../../src/api/auth/dev-keys.ts";
import { makeClerkKeys, startTestApi, type TestApi } from "./api-harness.ts";
import { signToken } from "../../src/api/auth/dev-keys.ts";
import { testDeployment } from "../support/test-deployment.ts";

let api: TestApi;
const run = randomUUID().slice(0, 8);
const clerkId = (name: string) => `user_${name}_${run}`;
let tokenA: string;
let tokenB: string;

const CREATE_PROJECT = `mutation ($name: String!, $type: ProjectType!) {
  createProject(input: { project: { projectName: $name, projectType: $type } }) { project { id rowId projectName userId } }
}`;
const CREATE_ASSET = `mutation ($projectId: UUID!, $title: String!) {
  createAsset(input: { asset: { projectId: $projectId, assetType: BLOG_POST, title: $title, content: "draft" } }) { asset { id rowId title } }
}`;
const CREATE_PERSONA = `mutation ($name: String!) {
  createPersona(input: { persona: { personaName: $name, characteristics: { tone: "warm" } } }) { persona { id rowId personaName } }
}`;
const MY_DATA = `{
  currentUser { clerkId email }
  projects(orderBy: CREATED_AT_ASC) { nodes { projectName assets { nodes { title } } } }
  assets { nodes { title } }
  personas { nodes { personaName } }
}`;

/** An update or delete that matches no visible row (not yours, or missing) fails the same way: NOT_FOUND, no payload. */
function expectNothingChanged(data: any, errors: Array<{ message: string; extensions?: Record<string, unknown> }> | undefined, kind: string) {
  expect(errors).toHaveLength(1);
  expect(errors![0]!.message).toBe(`No row of ${kind} with this id exists that you may change`);
  expect(errors![0]!.extensions?.code).toBe("NOT_FOUND");
  expect(Object.values(data ?? {})).toEqual([null]);
}

beforeAll(async () => {
  // A small pool: concurrency tests must share connections between users.
  api = await startTestApi({ DB_POOL_SIZE: "2", DB_MAX_OVERFLOW: "0" });
  tokenA = api.token({ sub: clerkId("a"), email: `a-${run}@example.com` });
  tokenB = api.token({ sub: clerkId("b"), email: `b-${run}@example.com` });
});
afterAll(() => api?.stop());

describe("two users, each with their own content", () => {
  const made: Record<"a" | "b", { project: any; asset: any; persona: any }> = {} as never;

  beforeAll(async () => {
    for (const [who, token] of [["a", tokenA], ["b", tokenB]] as const) {
      const project = await api.gql(CREATE_PROJECT, { name: `${who} blog`, type: "BLOG" }, token);
      expect(project.errors).toBeUndefined();
      const p = project.data.createProject.project;
      const asset = await api.gql(CREATE_ASSET, { projectId: p.rowId, title: `${who} post` }, token);
      expect(asset.errors).toBeUndefined();
      const persona = await api.gql(CREATE_PERSONA, { name: `${who} voice` }, token);
      expect(persona.errors).toBeUndefined();
      made[who] = { project: p, asset: asset.data.createAsset.asset, persona: persona.data.createPersona.persona };
    }
  });

  test("each user lists only their own projects, assets and personas", async () => {
    for (const [who, token] of [["a", tokenA], ["b", tokenB]] as const) {
      const { data, errors } = await api.gql(MY_DATA, {}, token);
      expect(errors).toBeUndefined();
      expect(data).toEqual({
        currentUser: { clerkId: clerkId(who), email: `${who}-${run}@example.com` },
        projects: { nodes: [{ projectName: `${who} blog`, assets: { nodes: [{ title: `${who} post` }] } }] },
        assets: { nodes: [{ title: `${who} post` }] },
        personas: { nodes: [{ personaName: `${who} voice` }] },
      });
    }
  });

  test("a new project belongs to its creator without naming them", () => {
    expect(made.a.project.userId).not.toEqual(made.b.project.userId);
  });

  test("B cannot read A's project, asset or persona by node id or by id", async () => {
    const { data, errors } = await api.gql(
      `query ($node: ID!, $asset: ID!, $persona: ID!, $rowId: UUID!) {
        node(id: $node) { id }
        projectById(id: $node) { projectName }
        project(rowId: $rowId) { projectName }
        assetById(id: $asset) { title }
        personaById(id: $persona) { personaName }
      }`,
      { node: made.a.project.id, asset: made.a.asset.id, persona: made.a.persona.id, rowId: made.a.project.rowId },
      tokenB,
    );
    expect(errors).toBeUndefined();
    expect(data).toEqual({ node: null, projectById: null, project: null, assetById: null, personaById: null });
  });

  test.each([
    ["updateProject", `mutation ($id: UUID!) { updateProject(input: { rowId: $id, patch: { projectName: "taken" } }) { project { projectName } } }`, "project"],
    ["updateAsset", `mutation ($id: UUID!) { updateAsset(input: { rowId: $id, patch: { title: "taken" } }) { asset { title } } }`, "asset"],
    ["updatePersona", `mutation ($id: UUID!) { updatePersona(input: { rowId: $id, patch: { personaName: "taken" } }) { persona { personaName } } }`, "persona"],
    ["deleteProject", `mutation ($id: UUID!) { deleteProject(input: { rowId: $id }) { project { projectName } } }`, "project"],
    ["deleteAsset", `mutation ($id: UUID!) { deleteAsset(input: { rowId: $id }) { asset { title } } }`, "asset"],
    ["deletePersona", `mutation ($id: UUID!) { deletePersona(input: { rowId: $id }) { persona { personaName } } }`, "persona"],
  ] as const)("B cannot %s A's row by id, and is told the same as for a row that does not exist", async (_, mutation, kind) => {
    const { data, errors } = await api.gql(mutation, { id: made.a[kind].rowId }, tokenB);
    expectNothingChanged(data, errors, kind);
    const missing = await api.gql(mutation, { id: randomUUID() }, tokenB);
    expectNothingChanged(missing.data, missing.errors, kind);
  });

  test.each([
    ["updateProjectById", `mutation ($id: ID!) { updateProjectById(input: { id: $id, patch: { projectName: "taken" } }) { project { projectName } } }`],
    ["deleteProjectById", `mutation ($id: ID!) { deleteProjectById(input: { id: $id }) { project { projectName } } }`],
  ] as const)("B cannot %s A's project by node id", async (_, mutation) => {
    const { data, errors } = await api.gql(mutation, { id: made.a.project.id }, tokenB);
    expectNothingChanged(data, errors, "project");
  });

  // Updates and deletes that match no visible row change nothing (checked here).
  test("A's rows are intact after B's attempts", async () => {
    const { data } = await api.gql(MY_DATA, {}, tokenA);
    expect(data.projects.nodes).toEqual([{ projectName: "a blog", assets: { nodes: [{ title: "a post" }] } }]);
    expect(data.personas.nodes).toEqual([{ personaName: "a voice" }]);
  });

  test("A cannot attach an asset to B's project", async () => {
    const { data, errors } = await api.gql(CREATE_ASSET, { projectId: made.b.project.rowId, title: "sneaky" }, tokenA);
    expect(data?.createAsset ?? null).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe("23503");
  });

  test("A can update and delete their own rows", async () => {
    const updated = await api.gql(
      `mutation ($id: UUID!) { updateAsset(input: { rowId: $id, patch: { title: "a post, edited" } }) { asset { title } } }`,
      { id: made.a.asset.rowId },
      tokenA,
    );
    expect(updated.data.updateAsset.asset.title).toBe("a post, edited");
    // A project, not a persona: A's one persona is all the Free plan allows.
    const extra = await api.gql(CREATE_PROJECT, { name: "a spare project", type: "OTHER" }, tokenA);
    const deleted = await api.gql(
      `mutation ($id: UUID!) { deleteProject(input: { rowId: $id }) { project { projectName } } }`,
      { id: extra.data.createProject.project.rowId },
      tokenA,
    );
    expect(deleted.data.deleteProject.project.projectName).toBe("a spare project");
  });

  test("a project's assets are paged and ordered", async () => {
    for (const title of ["second", "third"]) await api.gql(CREATE_ASSET, { projectId: made.b.project.rowId, title }, tokenB);
    const { data } = await api.gql(
      `query ($id: UUID!) { project(rowId: $id) { assets(first: 2, orderBy: CREATED_AT_DESC) { totalCount nodes { title } pageInfo { hasNextPage } } } }`,
      { id: made.b.project.rowId },
      tokenB,
    );
    expect(data.project.assets).toEqual({ totalCount: 3, nodes: [{ title: "third" }, { title: "second" }], pageInfo: { hasNextPage: true } });
  });
});

describe("anonymous requests", () => {
  test("see the subscription plans", async () => {
    const { status, data, errors } = await api.gql(`{ subscriptionPlans(orderBy: NAME_ASC) { nodes { name priceCents } } }`);
    expect(status).toBe(200);
    expect(errors).toBeUndefined();
    expect(data.subscriptionPlans.nodes).toEqual([
      { name: "Enterprise", priceCents: 19900 },
      { name: "Free", priceCents: 0 },
      { name: "Pro", priceCents: 2900 },
    ]);
  });

  test.each([
    ["projects", "{ projects { nodes { projectName } } }"],
    ["assets", "{ assets { nodes { title } } }"],
    ["personas", "{ personas { nodes { personaName } } }"],
    ["profiles", "{ profiles { nodes { businessName } } }"],
    ["users", "{ users { nodes { clerkId } } }"],
    ["usage", "{ usageLogs { nodes { tokensUsed } } }"],
    ["subscriptions", "{ userSubscriptions { nodes { status } } }"],
  ])("cannot read %s: told to sign in", async (_, query) => {
    const { data, errors } = await api.gql(query);
    expect(errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "sign-in-required" });
    expect(Object.values(data ?? {}).every((v) => v === null)).toBe(true);
  });

  test("cannot create a project: told to sign in", async () => {
    const { errors } = await api.gql(CREATE_PROJECT, { name: "anon", type: "BLOG" });
    expect(errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("bearer tokens", () => {
  const now = Math.floor(Date.now() / 1000);
  const other = makeClerkKeys();
  const unsigned = (claims: object) =>
    `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;

  test.each([
    ["expired", () => api.token({ sub: clerkId("x"), iat: now - 7200, nbf: now - 7200, exp: now - 3600 }), "token-expired"],
    ["not yet valid", () => api.token({ sub: clerkId("x"), nbf: now + 3600, exp: now + 7200 }), "token-not-active-yet"],
    ["forged (signed with another key)", () => signToken(other.privateKey, { sub: clerkId("x"), azp: "http://localhost:3000" }), "token-invalid-signature"],
    ["unsigned", () => unsigned({ sub: clerkId("x"), exp: now + 60 }), "token-invalid-algorithm"],
    ["from an unauthorized party", () => api.token({ sub: clerkId("x"), azp: "https://evil.example" }), "token-invalid-authorized-parties"],
    ["a development token on a test server", () => signToken(other.privateKey, { sub: clerkId("x"), iss: DEV_ISSUER }), "token-invalid-signature"],
    ["not a JWT", () => "not-a-jwt", "token-invalid"],
    ["with a subject that is no Clerk id", () => api.token({ sub: "robert'); drop table users;--" }), "token-invalid-subject"],
  ])("a token that is %s gets 401 with its reason", async (_, make, reason) => {
    const { status, errors } = await api.gql("{ subscriptionPlans { totalCount } }", {}, make());
    expect(status).toBe(401);
    expect(errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason });
  });

  test("a malformed Authorization header gets 401", async () => {
    const response = await fetch(api.server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic dXNlcjpwYXNz" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});

describe("registration", () => {
  test("concurrent first requests of a new Clerk user create one account, one subscription and one profile", async () => {
    const sub = clerkId("newcomer");
    const token = api.token({ sub, email: `newcomer-${run}@example.com` });
    const results = await Promise.all(Array.from({ length: 12 }, () => api.gql("{ currentUser { rowId } currentProfile { userId } }", {}, token)));
    const ids = new Set(results.map((r) => r.data?.currentUser?.rowId));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.data.currentProfile.userId === [...ids][0])).toBe(true);

    const { rows } = await connect(testDeployment().adminUrlFor("platform"), (admin) =>
      admin.query(
        `select (select count(*) from platform.users where clerk_id = $1)::int as users,
                (select count(*) from platform.user_subscriptions s join platform.users u on u.id = s.user_id where u.clerk_id = $1)::int as subscriptions`,
        [sub],
      ),
    );
    expect(rows[0]).toEqual({ users: 1, subscriptions: 1 });
  });

  test("a new user starts on the Free plan and sees their plan's limits", async () => {
    const { data } = await api.gql(`{ currentSubscription { status plan { name features } } }`, {}, tokenA);
    expect(data.currentSubscription).toMatchObject({ status: "active", plan: { name: "Free", features: { monthly_tokens: 50000 } } });
  });
});

test("fifty concurrent requests from different users over a pool of two never see each other's data", async () => {
  const users = Array.from({ length: 10 }, (_, i) => ({ sub: clerkId(`crowd${i}`), name: `crowd ${i} project` }));
  const tokens = users.map((u) => api.token({ sub: u.sub }));
  await Promise.all(users.map((u, i) => api.gql(CREATE_PROJECT, { name: u.name, type: "SOCIAL" }, tokens[i])));
  const requests = Array.from({ length: 50 }, (_, n) => n % users.length);
  const results = await Promise.all(
    requests.map((i) => api.gql(`{ currentUser { clerkId } projects { nodes { projectName } } }`, {}, tokens[i]).then((r) => ({ i, r }))),
  );
  for (const { i, r } of results) {
    expect(r.errors).toBeUndefined();
    expect(r.data.currentUser.clerkId).toBe(users[i]!.sub);
    expect(r.data.projects.nodes).toEqual([{ projectName: users[i]!.name }]);
  }
});

test("without Stripe settings the billing routes and the Stripe webhook are not there (404)", async () => {
  const base = api.server.url.replace(/\/graphql$/, "");
  for (const path of ["/webhooks/stripe", "/billing/checkout", "/billing/portal"]) {
    const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status, path).toBe(404);
  }
});
