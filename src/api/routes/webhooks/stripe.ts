/**
 * POST /webhooks/stripe: Stripe tells the platform about checkouts and
 * subscriptions. Verified with the stripe package's own
 * webhooks.constructEvent (signature and timestamp tolerance); a bad one gets
 * 400 and changes nothing. Each event id is recorded in the transaction that
 * applies it, so a replay is acknowledged ("duplicate") and not applied again.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import Stripe from "stripe";
import type { Databases } from "../../../db/databases.ts";
import type { Logger } from "../../../log.ts";
import { applyStripeEvent } from "../../../services/billing.ts";
import { readBody, reply } from "../../http/plain-http.ts";

export const STRIPE_WEBHOOK_PATH = "/webhooks/stripe";

export function stripeWebhookHandler(secret: string, prices: Readonly<Record<string, string>>, databases: Pick<Databases, "platform">, maxBodyBytes: number, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "POST") return reply(res, 405, { error: "use POST" });
    const body = await readBody(req, res, maxBodyBytes);
    if (body === undefined) return;
    const signature = typeof req.headers["stripe-signature"] === "string" ? req.headers["stripe-signature"] : "";
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(body, signature, secret);
    } catch (error) {
      return reply(res, 400, { error: `webhook refused: ${(error as Error).message}` });
    }
    try {
      const outcome = await databases.platform.withPlatformAdmin((admin) => applyStripeEvent(admin, event, prices));
      log("webhook_applied", { source: "stripe", eventId: event.id, type: event.type, outcome });
      reply(res, 200, { status: outcome });
    } catch (error) {
      log("webhook_failed", { source: "stripe", eventId: event.id, type: event.type, message: (error as Error).message });
      reply(res, 500, { error: "the event could not be applied; Stripe will retry it" });
    }
  };
}
