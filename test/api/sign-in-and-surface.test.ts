/**
 * Sign-in never fails because of claims; tokens live no longer than allowed;
 * anonymous callers see only public plans; production answers no
 * introspection; rate limits answer 429 with Retry-After.
 */
import { randomUUID } from "node:crypto";
import { connect } from "../support/connect.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { testDeployment } from "../support/test-deployment.ts";

const run = randomUUID().slice(0, 8);

describe("sign-in", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  test("a user whose email is already another account's still signs in, without the email", async () => {
    const email = `taken-${run}@example.com`;
    const first = await api.gql("{ currentUser { email } }", {}, api.token({ sub: `user_owner_${run}`, email }));
    expect(first.data.currentUser.email).toBe(email);
    const second = await api.gql("{ currentUser { clerkId email } }", {}, api.token({ sub: `user_squatted_${run}`, email: email.toUpperCase() }));
    expect(second.status).toBe(200);
    expect(second.data.currentUser).toEqual({ clerkId: `user_squatted_${run}`, email: null });
  });

  test.each([
    ["a malformed email", { email: "not an email" }, { email: null }],
    ["an over-long name", { email: `long-${run}@example.com`, name: "x".repeat(201) }, { email: `long-${run}@example.com`, displayName: null }],
  ])("a user with %s still signs in; what is valid is kept", async (_, claims, expected) => {
    const { status, data } = await api.gql("{ currentUser { email displayName } }", {}, api.token({ sub: `user_odd_${randomUUID().slice(0, 8)}`, ...claims }));
    expect(status).toBe(200);
    expect(data.currentUser).toMatchObject(expected);
  });

  test("a token valid for longer than CLERK_MAX_TOKEN_LIFETIME (1 day) is refused; one for exactly a day is not", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tooLong = await api.gql("{ currentUser { rowId } }", {}, api.token({ sub: `user_life_${run}`, iat: now, exp: now + 86_401 }));
    expect(tooLong.status).toBe(401);
    expect(tooLong.errors?.[0]?.extensions?.reason).toBe("token-lifetime-too-long");
    const aDay = await api.gql("{ currentUser { rowId } }", {}, api.token({ sub: `user_life_${run}`, iat: now, exp: now + 86_400 }));
    expect(aDay.status).toBe(200);
  });

  test("anonymous callers see only public plans", async () => {
    const name = `Hidden ${run.replace(/[^a-z]/g, "x")}`;
    await connect(testDeployment().adminUrlFor("platform"), async (admin) => {
      await admin.query("insert into platform.subscription_plans (name, price_cents, is_public) values ($1, 100, false)", [name]);
      try {
        const { data } = await api.gql("{ subscriptionPlans { nodes { name } } }");
        const names = data.subscriptionPlans.nodes.map((p: { name: string }) => p.name);
        expect(names).toContain("Free");
        expect(names).not.toContain(name);
      } finally {
        await admin.query("delete from platform.subscription_plans where name = $1", [name]);
      }
    });
  });
});

describe("production surface", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ ENVIRONMENT: "production", API_HOST: "127.0.0.1" });
  });
  afterAll(() => api?.stop());

  test("introspection is refused, for anonymous callers and users alike", async () => {
    for (const token of [undefined, api.token({ sub: `user_introspect_${run}` })]) {
      const { errors } = await api.gql("{ __schema { types { name } } }", {}, token);
      expect(errors?.[0]?.message).toMatch(/introspection/i);
    }
  });
});

describe("rate limits (small values, so the test stays short)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ RATE_LIMIT_PER_USER: "3", RATE_LIMIT_PER_ADDRESS: "12", RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: "2" });
  });
  afterAll(() => api?.stop());

  test("a user's requests over RATE_LIMIT_PER_USER get 429 with Retry-After; new accounts over the address's registrations too", async () => {
    const token = api.token({ sub: `user_busy_${run}` });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.gql("{ currentUser { rowId } }", {}, token)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const response = await fetch(api.server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ currentUser { rowId } }" }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await response.json()) as any).errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", limit: "RATE_LIMIT_PER_USER" });
    // One registration was used above; one more new account is allowed, the next is not.
    expect((await api.gql("{ currentUser { rowId } }", {}, api.token({ sub: `user_new1_${run}` }))).status).toBe(200);
    const third = await api.gql("{ currentUser { rowId } }", {}, api.token({ sub: `user_new2_${run}` }));
    expect(third.status).toBe(429);
    expect(third.errors?.[0]?.extensions?.limit).toBe("RATE_LIMIT_REGISTRATIONS_PER_ADDRESS");
  });
});
