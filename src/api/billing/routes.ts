/**
 * POST /billing/checkout ({"plan": "Pro"}) and POST /billing/portal: a
 * signed-in user (the same sign-in and rate limits as GraphQL, auth-gate.ts)
 * gets the URL of a Stripe Checkout page for a plan, or of the billing portal
 * where they change or cancel it. Their Stripe customer is made on first use
 * and kept on the platform side. The plan itself changes only when Stripe's
 * webhook says so.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type Stripe from "stripe";
import type { BillingSettings } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import { linkCustomer, priceOfPlan, stripeCustomer } from "../../services/billing.ts";
import { randomUUID } from "node:crypto";
import { signedInUser, type SignIn } from "../auth-gate.ts";
import { readBody, reply } from "../plain-http.ts";

export const CHECKOUT_PATH = "/billing/checkout";
export const PORTAL_PATH = "/billing/portal";

export interface BillingRouteOptions {
  readonly stripe: Stripe;
  readonly billing: BillingSettings;
  readonly databases: Pick<Databases, "platform">;
  readonly signIn: SignIn;
  readonly retryAfterSeconds: number;
  readonly maxBodyBytes: number;
  readonly log: Logger;
}

export function billingRoutes(options: BillingRouteOptions) {
  const { stripe, billing, databases, log } = options;

  async function customerFor(userId: string): Promise<string> {
    const known = await databases.platform.withPlatformAdmin((admin) => stripeCustomer(admin, userId));
    if (known) return known;
    // The idempotency key makes a retried or concurrent first checkout create one customer.
    const customer = await stripe.customers.create({ metadata: { user_id: userId } }, { idempotencyKey: `customer-${userId}` });
    await databases.platform.withPlatformAdmin((admin) => linkCustomer(admin, userId, customer.id));
    return customer.id;
  }

  const handle = (work: (req: IncomingMessage, res: ServerResponse, userId: string) => Promise<{ status: number; body: object } | undefined>) => async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST") return reply(res, 405, { error: "use POST" });
    const requestId = randomUUID();
    const signedIn = await signedInUser(options.signIn, req, { requestId, retryAfterSeconds: options.retryAfterSeconds, log, route: "billing" });
    if ("refusal" in signedIn) return reply(res, signedIn.refusal.statusCode, signedIn.refusal.json, signedIn.refusal.headers);
    const { userId } = signedIn.user;
    try {
      const answer = await work(req, res, userId);
      if (answer) reply(res, answer.status, answer.body);
    } catch (error) {
      log("billing_failed", { userId, path: req.url, message: (error as Error).message });
      reply(res, 502, { error: "the payment provider could not be reached; try again" });
    }
  };

  const checkout = handle(async (req, res, userId) => {
    const text = await readJsonBody(req, res, options.maxBodyBytes);
    if (res.headersSent) return undefined; // 413 already
    const plan = typeof text?.plan === "string" ? text.plan : undefined;
    // Own entries only: "constructor" or "__proto__" must not find Object's members.
    const price = plan ? priceOfPlan(billing.prices, plan) : undefined;
    if (!plan || !price) {
      return { status: 400, body: { error: `"plan" must be one of the plans on sale: ${Object.keys(billing.prices).join(", ") || "(none configured in STRIPE_PRICES)"}` } };
    }
    const customer = await customerFor(userId);
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer,
      client_reference_id: userId,
      line_items: [{ price, quantity: 1 }],
      metadata: { user_id: userId, plan },
      subscription_data: { metadata: { user_id: userId, plan } },
      success_url: billing.successUrl,
      cancel_url: billing.cancelUrl,
    });
    return { status: 200, body: { url: session.url, id: session.id } };
  });

  const portal = handle(async (_req, _res, userId) => {
    const customer = await customerFor(userId);
    const session = await stripe.billingPortal.sessions.create({ customer, return_url: billing.returnUrl });
    return { status: 200, body: { url: session.url } };
  });

  return { [CHECKOUT_PATH]: checkout, [PORTAL_PATH]: portal };
}

/** The body as a JSON object; undefined when it is not one (or after 413 when it is too large). */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  const text = await readBody(req, res, maxBytes);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
