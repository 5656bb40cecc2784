/**
 * POST /billing/checkout ({"plan": "Pro"}) and POST /billing/portal: a
 * signed-in user (the same sign-in and rate limits as GraphQL, auth-gate.ts)
 * gets the URL of a Stripe Checkout page for a plan, or of the billing portal
 * where they change or cancel it. Their Stripe customer is made on first use
 * and kept on the platform side. The plan itself changes only when Stripe's
 * webhook says so. With an Idempotency-Key (docs/retries.md) the answer is
 * stored per user in the platform database and replayed to a retry; the key
 * goes on to Stripe, so a retry after a lost answer makes no second session.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type Stripe from "stripe";
import type { BillingSettings } from "../../../config.ts";
import type { Databases } from "../../../db/databases.ts";
import type { Logger } from "../../../log.ts";
import { linkCustomer, priceOfPlan, stripeCustomer } from "../../../services/billing.ts";
import { randomUUID } from "node:crypto";
import { signedInUser, type SignIn } from "../../auth/gate.ts";
import { unavailability } from "../../http/database-unavailable.ts";
import { IDEMPOTENCY_KEY_HEADER, IdempotencyError, REPLAYED_HEADER, idempotencyKeyOf, requestHash } from "../../idempotency/key.ts";
import { claimKey, rememberAnswer } from "../../idempotency/store.ts";
import { readBody, reply } from "../../http/plain-http.ts";

export const CHECKOUT_PATH = "/billing/checkout";
export const PORTAL_PATH = "/billing/portal";

export interface BillingRouteOptions {
  readonly stripe: Stripe;
  readonly billing: BillingSettings;
  readonly databases: Pick<Databases, "platform">;
  readonly signIn: SignIn;
  readonly retryAfterSeconds: number;
  readonly maxBodyBytes: number;
  /** IDEMPOTENCY_KEY_TTL, in seconds. */
  readonly idempotencyKeyTtlSeconds: number;
  readonly log: Logger;
}

type Answer = { status: number; body: object; headers?: Record<string, string> };
/** A route's work: the body as text, the user, and the idempotency key to hand on to Stripe, if any. */
type Work = (text: string, userId: string, stripeKey: string | undefined) => Promise<Answer>;

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

  const handle = (path: string, work: Work) => async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST") return reply(res, 405, { error: "use POST" });
    const requestId = randomUUID();
    const signedIn = await signedInUser(options.signIn, req, { requestId, retryAfterSeconds: options.retryAfterSeconds, log, route: "billing" });
    if ("refusal" in signedIn) return reply(res, signedIn.refusal.statusCode, signedIn.refusal.json, signedIn.refusal.headers);
    const { userId } = signedIn.user;
    let key: string | undefined;
    try {
      key = idempotencyKeyOf(req.method, req.headers[IDEMPOTENCY_KEY_HEADER]);
    } catch (error) {
      const refused = error as IdempotencyError;
      return reply(res, refused.statusCode, { error: refused.message, code: refused.code });
    }
    const text = await readBody(req, res, options.maxBodyBytes);
    if (text === undefined) return; // 413 already
    try {
      const answer = key ? await keyed(userId, key, requestHash(text, path), () => work(text, userId, `${path}-${userId}-${key}`)) : await work(text, userId, undefined);
      reply(res, answer.status, answer.body, answer.headers);
    } catch (error) {
      const away = unavailability(error);
      if (away) {
        // With a key, whether the answer was stored is unknown: the retry with the same key finds out.
        log("database_unavailable", { requestId, code: away.code, message: (error as Error).message });
        return reply(res, 503, { error: away.message, code: away.code }, { "retry-after": String(options.retryAfterSeconds) });
      }
      log("billing_failed", { userId, path: req.url, message: (error as Error).message });
      reply(res, 502, { error: "the payment provider could not be reached; try again" });
    }
  };

  /**
   * Runs `work` once per key: in one platform transaction as the user, claims
   * the key (409 while another request holds it; the stored answer, or 422
   * when it was used for another body), runs the work and stores its answer,
   * which commit together. A failure (Stripe unreachable) stores nothing, so
   * the retry runs again.
   */
  const keyed = (userId: string, key: string, hash: string, work: () => Promise<Answer>) =>
    databases.platform.withUserContext(userId, async (session): Promise<Answer> => {
      const claim = await claimKey(session, userId, key, hash);
      if (claim.kind === "refuse") return { status: claim.error.statusCode, body: { error: claim.error.message, code: claim.error.code } };
      if (claim.kind === "replay") return { status: claim.answer.statusCode, body: JSON.parse(claim.answer.body) as object, headers: { [REPLAYED_HEADER]: "true" } };
      const answer = await work();
      await rememberAnswer(session, userId, key, { requestHash: hash, statusCode: answer.status, body: JSON.stringify(answer.body) }, options.idempotencyKeyTtlSeconds);
      return answer;
    });

  const checkout = handle(CHECKOUT_PATH, async (body, userId, stripeKey) => {
    const text = jsonObject(body);
    const plan = typeof text?.plan === "string" ? text.plan : undefined;
    // Own entries only: "constructor" or "__proto__" must not find Object's members.
    const price = plan ? priceOfPlan(billing.prices, plan) : undefined;
    if (!plan || !price) {
      return { status: 400, body: { error: `"plan" must be one of the plans on sale: ${Object.keys(billing.prices).join(", ") || "(none configured in STRIPE_PRICES)"}` } };
    }
    const customer = await customerFor(userId);
    const session = await stripe.checkout.sessions.create(
      {
        mode: "subscription",
        customer,
        client_reference_id: userId,
        line_items: [{ price, quantity: 1 }],
        metadata: { user_id: userId, plan },
        subscription_data: { metadata: { user_id: userId, plan } },
        success_url: billing.successUrl,
        cancel_url: billing.cancelUrl,
      },
      stripeKey ? { idempotencyKey: stripeKey } : undefined,
    );
    return { status: 200, body: { url: session.url, id: session.id } };
  });

  const portal = handle(PORTAL_PATH, async (_body, userId, stripeKey) => {
    const customer = await customerFor(userId);
    const session = await stripe.billingPortal.sessions.create({ customer, return_url: billing.returnUrl }, stripeKey ? { idempotencyKey: stripeKey } : undefined);
    return { status: 200, body: { url: session.url } };
  });

  return { [CHECKOUT_PATH]: checkout, [PORTAL_PATH]: portal };
}

/** The body as a JSON object; undefined when it is not one. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
