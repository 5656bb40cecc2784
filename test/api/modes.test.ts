/**
 * What changes between development and production: GraphiQL, the development
 * sign-in, error details and the request size limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../../src/api/auth/dev-keys.ts";
import { startTestApi, type TestApi } from "./api-harness.ts";

describe("production", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ ENVIRONMENT: "production", API_MAX_BODY_BYTES: "2000", API_HOST: "127.0.0.1" });
  });
  afterAll(() => api?.stop());

  test("serves no GraphiQL", async () => {
    expect(api.server.graphiqlUrl).toBeUndefined();
    const page = await fetch(api.server.url.replace("/graphql", "/graphiql"));
    expect(page.status).toBe(404);
    const viaGet = await fetch(api.server.url, { headers: { accept: "text/html" } });
    expect(viaGet.headers.get("content-type") ?? "").not.toMatch(/html/);
  });

  test("refuses development sign-in tokens", async () => {
    const token = signToken(loadOrCreateDevKeys().privateKey, { ...devIdentity("mallory"), iss: DEV_ISSUER });
    const { status, errors } = await api.gql("{ currentUser { clerkId } }", {}, token);
    expect(status).toBe(401);
    expect(errors?.[0]?.extensions?.reason).toBe("token-invalid-signature");
  });

  test("hides database error details but keeps the SQLSTATE and a request id", async () => {
    const token = api.token({ sub: `user_prod_${Date.now()}` });
    const { errors } = await api.gql(
      `mutation { createAsset(input: { asset: { projectId: "00000000-0000-4000-8000-000000000000", assetType: BLOG_POST } }) { asset { rowId } } }`,
      {},
      token,
    );
    expect(errors?.[0]?.message).toBe("A referenced record does not exist or is not yours (field projectId)");
    expect(errors?.[0]?.message).not.toMatch(/user_content_assets|constraint/);
    expect(errors?.[0]?.extensions).toMatchObject({ code: "23503", field: "projectId", requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  test("refuses request bodies over the limit with 413", async () => {
    const response = await fetch(api.server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ subscriptionPlans { totalCount } }`, variables: { padding: "x".repeat(5000) } }),
    });
    expect(response.status).toBe(413);
  });
});

describe("development", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ ENVIRONMENT: "development" });
  });
  afterAll(() => api?.stop());

  test("serves GraphiQL", async () => {
    const page = await fetch(api.server.graphiqlUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/ruru|graphiql/i);
  });

  test("accepts a development sign-in token and registers the demo user", async () => {
    const identity = devIdentity(`Dev Tester ${Date.now()}`);
    const token = signToken(loadOrCreateDevKeys().privateKey, { ...identity, iss: DEV_ISSUER });
    const { status, data, errors } = await api.gql("{ currentUser { clerkId email } }", {}, token);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    expect(data.currentUser).toEqual({ clerkId: identity.sub, email: identity.email });
  });

  test("shows database error messages to developers", async () => {
    const { errors } = await api.gql(
      `mutation { createAsset(input: { asset: { projectId: "00000000-0000-4000-8000-000000000000", assetType: BLOG_POST } }) { asset { rowId } } }`,
      {},
      api.token({ sub: `user_devmode_${Date.now()}` }),
    );
    expect(errors?.[0]?.message).toMatch(/violates foreign key constraint "user_content_assets_project_fkey"/);
  });
});
