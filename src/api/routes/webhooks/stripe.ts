/**
 * POST /webhooks/stripe: Stripe tells the platform about checkouts and
 * subscriptions. Verified with the stripe package's own
 * webhooks.constructEvent (signature and timestamp tolerance); a bad one gets
 * 400 and changes nothing. The package refuses only signatures older than its
 * tolerance; one dated further in the future than that (or an event created
 * then) is refused here too, since a future time would make every real event
 * after it look stale. Each event id is recorded in the transaction that
 * applies it, so a replay is acknowledged ("duplicate") and not applied again.
 * An event the platform cannot use (a price or plan it does not know) is
 * recorded and acknowledged with a logged warning: Stripe retries a failure for
 * days, and retrying cannot help.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import Stripe from "stripe";
import type { Databases } from "../../../db/databases.ts";
import type { Logger } from "../../../log.ts";
import { applyStripeEvent, WARNING_OUTCOMES } from "../../../services/billing.ts";
import { readBody, reply } from "../../http/plain-http.ts";

export const STRIPE_WEBHOOK_PATH = "/webhooks/stripe";

/** The signature's tolerance, both ways: the stripe package's default (300 s) for the past, the same for the future. */
const TOLERANCE_SECONDS = Stripe.webhooks.DEFAULT_TOLERANCE;

/** Why a signed event's time is refused, or undefined: a signature timestamp or an event created beyond the tolerance ahead. */
function fromTheFuture(signature: string, event: Stripe.Event): string | undefined {
  const limit = Math.floor(Date.now() / 1000) + TOLERANCE_SECONDS;
  const signed = Number(/(?:^|,)t=(\d+)/.exec(signature)?.[1]);
  if (signed > limit) return "the signature's timestamp is in the future";
  if (typeof event.created === "number" && event.created > limit) return "the event's created time is in the future";
  return undefined;
}

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
    const future = fromTheFuture(signature, event);
    if (future) return reply(res, 400, { error: `webhook refused: ${future} (more than ${TOLERANCE_SECONDS} s ahead)` });
    try {
      const outcome = await databases.platform.withPlatformAdmin((admin) => applyStripeEvent(admin, event, prices));
      log(WARNING_OUTCOMES.has(outcome) ? "webhook_warning" : "webhook_applied", { source: "stripe", eventId: event.id, type: event.type, outcome });
      reply(res, 200, { status: outcome });
    } catch (error) {
      log("webhook_failed", { source: "stripe", eventId: event.id, type: event.type, message: (error as Error).message });
      reply(res, 500, { error: "the event could not be applied; Stripe will retry it" });
    }
  };
}
