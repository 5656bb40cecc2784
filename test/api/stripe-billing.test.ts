/**
 * Billing through the API: a signed-in user starts a checkout or opens the
 * billing portal (the stripe package talks to a local fake Stripe through
 * STRIPE_API_BASE), and POST /webhooks/stripe, with events signed by the
 * stripe package's own generateTestHeaderString, drives plan changes: valid
 * ones apply, replays are acknowledged and not applied again, tampered, stale
 * and foreign-signed ones get 400, and an event older than one applied is
 * ignored. The plan-limit error reaches a GraphQL client as the database
 * words it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { fileClient } from "../support/connect.ts";
import Stripe from "stripe";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { startFakeStripe, type FakeStripe } from "../support/fake-stripe.ts";
import { testDeployment } from "../support/test-deployment.ts";

const platformOwner = fileClient(() => testDeployment().databases.platform.migrationUrl);

const secret = `whsec_${randomBytes(24).toString("hex")}`;
const PRICES = { Pro: "price_pro123", Enterprise: "price_ent456" };
const run = randomUUID().slice(0, 8);
let api: TestApi;
let fake: FakeStripe;
let base: string;

beforeAll(async () => {
  fake = await startFakeStripe();
  api = await startTestApi({
    STRIPE_WEBHOOK_SECRET: secret,
    STRIPE_SECRET_KEY: "sk_test_fakekey",
    STRIPE_PRICES: `Pro=${PRICES.Pro},Enterprise=${PRICES.Enterprise}`,
    STRIPE_API_BASE: fake.url,
  });
  base = api.server.url.replace(/\/graphql$/, "");
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await fake?.close();
});

/** Signs in (the first request registers the account) and answers the user's token and id. */
async function signIn(name: string) {
  const token = api.token({ sub: `user_${name}_${run}` });
  expect((await api.gql("{ currentUser { rowId } }", {}, token)).status).toBe(200);
  const { rows } = await platformOwner().query("select id from platform.users where clerk_id = $1", [`user_${name}_${run}`]);
  return { token, userId: rows[0].id as string };
}

async function post(path: string, token: string | undefined, body: object = {}) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const livePlan = async (userId: string) =>
  (
    await platformOwner().query(
      "select p.name from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id where s.user_id = $1 and s.status <> 'canceled'",
      [userId],
    )
  ).rows.map((r) => r.name as string);

function stripeEvent(type: string, object: object, created = Math.floor(Date.now() / 1000)) {
  return JSON.stringify({ id: `evt_${randomBytes(12).toString("hex")}`, object: "event", type, created, livemode: false, data: { object } });
}

/** A completed, paid Checkout Session for `plan`, as Stripe's checkout.session.completed carries it. */
function checkoutSession(customer: string, userId: string, plan: string, fields: Record<string, unknown> = {}) {
  return { id: `cs_test_${randomBytes(6).toString("hex")}`, object: "checkout.session", customer, client_reference_id: userId, payment_status: "paid", metadata: { user_id: userId, plan }, ...fields };
}

function subscription(customer: string, price: string, fields: Record<string, unknown> = {}) {
  const periodEnd = Math.floor(Date.now() / 1000) + 30 * 86400;
  // One subscription per customer unless told (Stripe's ids are unique, and an ended one is final).
  return { id: `sub_${customer.replace(/^cus_/, "")}`, object: "subscription", customer, status: "active", cancel_at_period_end: false, items: { object: "list", data: [{ price: { id: price }, current_period_end: periodEnd }] }, ...fields };
}

async function deliver(payload: string, header = Stripe.webhooks.generateTestHeaderString({ payload, secret })) {
  const response = await fetch(`${base}/webhooks/stripe`, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": header }, body: payload });
  return { status: response.status, body: (await response.json()) as { status?: string; error?: string } };
}


test("a signed-in user starts a checkout and gets the URL Stripe gives; their customer is kept; the portal opens for it", async () => {
  const { token, userId } = await signIn("checkout");
  const before = fake.requests.length;
  const started = await post("/billing/checkout", token, { plan: "Pro" });
  expect(started.status).toBe(200);
  expect(started.body.url).toMatch(new RegExp(`^${fake.url}/pay/cs_test_`));
  const made = fake.requests.slice(before);
  expect(made.map((r) => r.path)).toEqual(["/v1/customers", "/v1/checkout/sessions"]);
  expect(made[0]!.form["metadata[user_id]"]).toBe(userId);
  expect(made[1]!.form).toMatchObject({ mode: "subscription", client_reference_id: userId, "line_items[0][price]": PRICES.Pro, "metadata[plan]": "Pro" });
  const { rows } = await platformOwner().query("select stripe_customer_id from platform_backend.billing_accounts where user_id = $1", [userId]);
  expect(rows).toEqual([{ stripe_customer_id: made[1]!.form.customer }]);

  // The second time the customer is reused.
  await post("/billing/checkout", token, { plan: "Enterprise" });
  expect(fake.requests.slice(before + 2).map((r) => r.path)).toEqual(["/v1/checkout/sessions"]);
  const portal = await post("/billing/portal", token);
  expect(portal).toEqual({ status: 200, body: { url: `${fake.url}/portal/${rows[0].stripe_customer_id}` } });
});

test("checkout and portal need a signed-in user and a plan on sale", async () => {
  const { token } = await signIn("refused");
  const anonymous = await post("/billing/checkout", undefined, { plan: "Pro" });
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.errors[0]).toMatchObject({ message: "Unauthorized: billing needs a signed-in user (Authorization: Bearer <token>)", extensions: { reason: "authorization-missing" } });
  expect((await post("/billing/portal", "not-a-token")).status).toBe(401);
  const unknown = await post("/billing/checkout", token, { plan: "Free" });
  expect(unknown).toEqual({ status: 400, body: { error: '"plan" must be one of the plans on sale: Pro, Enterprise' } });
});

test("billing shares GraphQL's sign-in: a user over RATE_LIMIT_PER_USER gets 429 with Retry-After, and Stripe is not called", async () => {
  const limited = await startTestApi({
    STRIPE_WEBHOOK_SECRET: secret,
    STRIPE_SECRET_KEY: "sk_test_fakekey",
    STRIPE_PRICES: `Pro=${PRICES.Pro}`,
    STRIPE_API_BASE: fake.url,
    RATE_LIMIT_PER_USER: "3",
  });
  try {
    const limitedBase = limited.server.url.replace(/\/graphql$/, "");
    const token = limited.token({ sub: `user_limited_${run}` });
    const send = async (path: string) => {
      const response = await fetch(`${limitedBase}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ plan: "Pro" }) });
      return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as Record<string, any> };
    };
    // One request signs in through GraphQL; billing's two more use up the user's three.
    expect((await limited.gql("{ currentUser { rowId } }", {}, token)).status).toBe(200);
    expect((await send("/billing/checkout")).status).toBe(200);
    expect((await send("/billing/portal")).status).toBe(200);
    const before = fake.requests.length;
    const refused = await send("/billing/checkout");
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", limit: "RATE_LIMIT_PER_USER" });
    expect(fake.requests.length).toBe(before);
  } finally {
    await limited.stop();
  }
});

test("checkout.session.completed upgrades the user at once; the replayed event is acknowledged and not applied again", async () => {
  const { token, userId } = await signIn("upgrade");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const completed = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Pro", { subscription: `sub_${run}u` }));
  const header = Stripe.webhooks.generateTestHeaderString({ payload: completed, secret });
  expect(await deliver(completed, header)).toEqual({ status: 200, body: { status: "applied" } });
  expect(await livePlan(userId)).toEqual(["Pro"]);

  // An operator moves the user on; the replay must not undo it.
  await platformOwner().query("select platform_backend.change_subscription($1, 'Enterprise')", [userId]);
  expect(await deliver(completed, header)).toEqual({ status: 200, body: { status: "duplicate" } });
  expect(await livePlan(userId)).toEqual(["Enterprise"]);
  const { rows } = await platformOwner().query("select count(*)::int as n from platform_backend.webhook_deliveries where source = 'stripe' and event_type = 'checkout.session.completed' and delivery_id = $1", [JSON.parse(completed).id]);
  expect(rows[0].n).toBe(1);
});

test("tampered, stale, foreign-signed or unsigned events get 400 and change nothing", async () => {
  const { token, userId } = await signIn("forged");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const completed = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Enterprise"));
  const header = Stripe.webhooks.generateTestHeaderString({ payload: completed, secret });
  const tampered = completed.replace('"plan":"Enterprise"', '"plan":"Pro"');
  expect((await deliver(tampered, header)).status).toBe(400);
  const old = Math.floor(Date.now() / 1000) - 3600;
  expect((await deliver(completed, Stripe.webhooks.generateTestHeaderString({ payload: completed, secret, timestamp: old }))).status).toBe(400);
  expect((await deliver(completed, Stripe.webhooks.generateTestHeaderString({ payload: completed, secret: `whsec_${randomBytes(24).toString("hex")}` }))).status).toBe(400);
  expect((await deliver(completed, "")).status).toBe(400);
  expect(await livePlan(userId)).toEqual(["Free"]);
  const { rows } = await platformOwner().query("select count(*)::int as n from platform_backend.webhook_deliveries where delivery_id = $1", [JSON.parse(completed).id]);
  expect(rows[0].n).toBe(0);
});

test("a checkout completed before the subscription's end, arriving after it, is ignored", async () => {
  const { token, userId } = await signIn("latecheckout");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro), now - 20))).body.status).toBe("applied");
  expect((await deliver(stripeEvent("customer.subscription.deleted", { ...subscription(customer, PRICES.Pro), status: "canceled" }, now - 5))).body.status).toBe("canceled");
  const late = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Pro"), now - 30);
  expect(await deliver(late)).toEqual({ status: 200, body: { status: "stale" } });
  expect(await livePlan(userId)).toEqual(["Free"]);
});

test("subscription events out of order: the older one, arriving last, is ignored", async () => {
  const { token, userId } = await signIn("order");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  const newer = stripeEvent("customer.subscription.updated", subscription(customer, PRICES.Enterprise), now);
  const older = stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro), now - 60);
  expect(await deliver(newer)).toEqual({ status: 200, body: { status: "applied" } });
  expect(await deliver(older)).toEqual({ status: 200, body: { status: "stale" } });
  expect(await livePlan(userId)).toEqual(["Enterprise"]);
});

test("cancel at the period's end is scheduled and kept in the history; the subscription's end moves the user to Free", async () => {
  const { token, userId } = await signIn("cancel");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro), now - 10))).body.status).toBe("applied");
  const canceling = subscription(customer, PRICES.Pro, { cancel_at_period_end: true });
  expect((await deliver(stripeEvent("customer.subscription.updated", canceling, now - 5))).body.status).toBe("cancel_scheduled");
  expect(await livePlan(userId)).toEqual(["Pro"]);
  const scheduled = await api.gql("{ myPlanChanges { nodes { kind state effectiveAt toPlan { name } } } }", {}, token);
  expect(scheduled.data.myPlanChanges.nodes.map((c: any) => `${c.kind}:${c.state}:${c.toPlan.name}`)).toEqual(["upgrade:applied:Pro", "cancel:scheduled:Free"]);
  expect(new Date(scheduled.data.myPlanChanges.nodes[1].effectiveAt).getTime()).toBe(canceling.items.data[0]!.current_period_end * 1000);

  expect((await deliver(stripeEvent("customer.subscription.deleted", { ...canceling, status: "canceled" }, now))).body.status).toBe("canceled");
  expect(await livePlan(userId)).toEqual(["Free"]);
  const history = await api.gql("{ myPlanChanges { nodes { kind state source } } }", {}, token);
  expect(history.data.myPlanChanges.nodes).toEqual([
    { kind: "upgrade", state: "applied", source: "stripe" },
    { kind: "cancel", state: "superseded", source: "stripe" },
    { kind: "cancel", state: "applied", source: "stripe" },
  ]);
});

test("a project beyond the plan's limit is refused with the database's words, the limit, its value and the plan", async () => {
  const { token } = await signIn("limits");
  const create = (name: string) =>
    api.gql(`mutation ($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { rowId } } }`, { name }, token);
  for (const name of ["one", "two", "three"]) expect((await create(name)).errors).toBeUndefined();
  const refused = await create("four");
  expect(refused.errors).toEqual([
    expect.objectContaining({
      message: "project limit reached: the Free plan allows 3 projects (max_projects = 3), and 3 exist",
      extensions: expect.objectContaining({ code: "53400", hint: "Upgrade the plan, or delete a project first." }),
    }),
  ]);
  const status = await api.gql("{ currentEntitlements { planName maxProjects projects overLimit } }", {}, token);
  expect(status.data.currentEntitlements).toEqual({ planName: "Free", maxProjects: "3", projects: "3", overLimit: false });
});

test("checkout with an Idempotency-Key: a retry gets the same session, replayed, and Stripe is asked once; another body is refused", async () => {
  const { token } = await signIn("idem_checkout");
  const key = randomUUID();
  const keyedPost = async (body: object) => {
    const response = await fetch(`${base}/billing/checkout`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": key },
      body: JSON.stringify(body),
    });
    return { status: response.status, replayed: response.headers.get("idempotent-replayed"), body: (await response.json()) as Record<string, any> };
  };
  const sessionsBefore = fake.requests.filter((r) => r.path === "/v1/checkout/sessions").length;
  const first = await keyedPost({ plan: "Pro" });
  expect(first.status).toBe(200);
  expect(first.replayed).toBeNull();
  const again = await keyedPost({ plan: "Pro" });
  expect(again).toEqual({ status: 200, replayed: "true", body: first.body });
  const made = fake.requests.filter((r) => r.path === "/v1/checkout/sessions");
  expect(made.length - sessionsBefore, "Stripe was asked for one session").toBe(1);
  expect(made.at(-1)!.idempotencyKey, "the key goes on to Stripe").toContain(key);
  const other = await keyedPost({ plan: "Enterprise" });
  expect(other.status).toBe(422);
  expect(other.body).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
});

test('a plan named "constructor" is no plan: checkout refuses it without calling Stripe, and a completed checkout naming it is recorded and acknowledged', async () => {
  const { token, userId } = await signIn("constructor");
  const before = fake.requests.length;
  for (const plan of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    expect(await post("/billing/checkout", token, { plan })).toEqual({ status: 400, body: { error: '"plan" must be one of the plans on sale: Pro, Enterprise' } });
  }
  expect(fake.requests.length).toBe(before);

  const customer = `cus_${randomBytes(8).toString("hex")}`;
  const completed = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "constructor"));
  const header = Stripe.webhooks.generateTestHeaderString({ payload: completed, secret });
  expect(await deliver(completed, header)).toEqual({ status: 200, body: { status: "unknown_plan" } });
  expect(await deliver(completed, header)).toEqual({ status: 200, body: { status: "duplicate" } });
  expect(await livePlan(userId)).toEqual(["Free"]);
  const { rows } = await platformOwner().query("select count(*)::int as n from platform_backend.webhook_deliveries where delivery_id = $1", [JSON.parse(completed).id]);
  expect(rows[0].n).toBe(1);
});

test("a subscription deleted and then updated to active within the same second stays ended: the end is final for its id", async () => {
  const { token, userId } = await signIn("tie");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  const id = `sub_${run}tie`;
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro, { id }), now - 10))).body.status).toBe("applied");
  expect((await deliver(stripeEvent("customer.subscription.deleted", subscription(customer, PRICES.Pro, { id, status: "canceled" }), now))).body.status).toBe("canceled");
  expect(await deliver(stripeEvent("customer.subscription.updated", subscription(customer, PRICES.Enterprise, { id }), now))).toEqual({ status: 200, body: { status: "stale" } });
  // A later time does not revive it either; nor does a late checkout of it.
  expect((await deliver(stripeEvent("customer.subscription.updated", subscription(customer, PRICES.Enterprise, { id }), now + 1))).body.status).toBe("stale");
  expect((await deliver(stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Enterprise", { subscription: id }), now + 1))).body.status).toBe("stale");
  expect(await livePlan(userId)).toEqual(["Free"]);
});

test("the end of an old subscription does not cancel the newer live one, and the old one's late updates change nothing", async () => {
  const { token, userId } = await signIn("twosubs");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  const old = { id: `sub_${run}old`, created: now - 86400 };
  const newer = { id: `sub_${run}new`, created: now - 60 };
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro, old), now - 86400))).body.status).toBe("applied");
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Enterprise, newer), now - 60))).body.status).toBe("applied");
  expect(await livePlan(userId)).toEqual(["Enterprise"]);
  expect(await deliver(stripeEvent("customer.subscription.deleted", subscription(customer, PRICES.Pro, { ...old, status: "canceled" }), now))).toEqual({ status: 200, body: { status: "ended_other" } });
  expect(await livePlan(userId)).toEqual(["Enterprise"]);
  // An update of a live but older subscription, delivered later, does not take the user back.
  const older = { id: `sub_${run}older`, created: now - 3600 };
  expect((await deliver(stripeEvent("customer.subscription.updated", subscription(customer, PRICES.Pro, older), now))).body.status).toBe("stale");
  expect(await livePlan(userId)).toEqual(["Enterprise"]);
});

test("invoice.payment_failed makes the subscription past_due (the user sees it, the plan's limits stay); invoice.paid recovers it, and a late failure of a paid invoice changes nothing", async () => {
  const { token, userId } = await signIn("pastdue");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const now = Math.floor(Date.now() / 1000);
  const id = `sub_${run}due`;
  expect((await deliver(stripeEvent("customer.subscription.created", subscription(customer, PRICES.Pro, { id }), now - 10))).body.status).toBe("applied");
  const invoice = (fields: Record<string, unknown> = {}) => ({ id: `in_${run}due`, object: "invoice", customer, parent: { subscription_details: { subscription: id } }, ...fields });
  const status = async () => (await api.gql("{ currentUser { subscriptionStatus } }", {}, token)).data.currentUser.subscriptionStatus;

  const failed = stripeEvent("invoice.payment_failed", invoice({ status: "open" }), now - 5);
  expect(await deliver(failed)).toEqual({ status: 200, body: { status: "past_due" } });
  expect(await status()).toBe("past_due");
  expect(await livePlan(userId)).toEqual(["Pro"]);
  const entitlements = await platformOwner().query("select plan_name from platform_backend.entitlements_of($1)", [userId]);
  expect(entitlements.rows).toEqual([{ plan_name: "Pro" }]);

  expect(await deliver(stripeEvent("invoice.paid", invoice({ status: "paid" }), now))).toEqual({ status: 200, body: { status: "active" } });
  expect(await status()).toBe("active");
  // The same failure delivered again (another event id, Stripe retrying its delivery) after the payment: still paid.
  expect(await deliver(stripeEvent("invoice.payment_failed", invoice({ status: "open" }), now))).toEqual({ status: 200, body: { status: "active" } });
  expect(await status()).toBe("active");
  // An invoice of an older subscription changes nothing on the current one.
  const other = { id: `in_${run}other`, object: "invoice", customer, subscription: `sub_${run}gone` };
  expect((await deliver(stripeEvent("invoice.payment_failed", other, now))).body.status).toBe("ignored");
  expect(await status()).toBe("active");
});

test("events signed or created further in the future than the signature's tolerance get 400 and change nothing", async () => {
  const { token, userId } = await signIn("future");
  await post("/billing/checkout", token, { plan: "Pro" });
  const customer = fake.requests.at(-1)!.form.customer!;
  const ahead = Math.floor(Date.now() / 1000) + 3600;
  const completed = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Pro"));
  const signedAhead = await deliver(completed, Stripe.webhooks.generateTestHeaderString({ payload: completed, secret, timestamp: ahead }));
  expect(signedAhead).toEqual({ status: 400, body: { error: "webhook refused: the signature's timestamp is in the future (more than 300 s ahead)" } });
  const createdAhead = stripeEvent("checkout.session.completed", checkoutSession(customer, userId, "Pro"), ahead);
  expect((await deliver(createdAhead)).status).toBe(400);
  expect(await livePlan(userId)).toEqual(["Free"]);
  const { rows } = await platformOwner().query("select count(*)::int as n from platform_backend.webhook_deliveries where delivery_id = any($1)", [[JSON.parse(completed).id, JSON.parse(createdAhead).id]]);
  expect(rows[0].n).toBe(0);
});
