/**
 * Stripe events applied to the platform, as the billing service (platform
 * admin), in the transaction that records the event's id (so a replay is
 * acknowledged and not applied twice). Plan names and price ids meet only
 * here, through configuration (STRIPE_PRICES), looked up by own property only
 * (a plan named "constructor" or "__proto__" is no plan). Out-of-order delivery
 * is handled in platform_backend.apply_stripe_subscription: an ended
 * subscription is final for its id, an older event for the same subscription
 * is ignored, and the end of another subscription than the user's current one
 * changes nothing (docs/billing-events.md).
 */
import type Stripe from "stripe";
import type { AdminSession } from "../db/session.ts";
import { applyStripeCheckout, applyStripeInvoice, applyStripeSubscription, linkStripeCustomer, recordStripeDelivery, stripeCustomerOf } from "../../generated/platform/billing.queries.ts";
import { run, single } from "./run-query.ts";
import { isUuid } from "../uuid.ts";

export type StripeOutcome =
  | "duplicate"
  | "ignored"
  | "applied"
  | "stale"
  | "unknown_customer"
  | "unknown_price"
  | "unknown_plan"
  | "canceled"
  | "cancel_scheduled"
  | "ended_other"
  | "past_due"
  | "active";

/** Outcomes acknowledged to Stripe that an operator should look at: the configuration and Stripe disagree. */
export const WARNING_OUTCOMES: ReadonlySet<StripeOutcome> = new Set(["unknown_price", "unknown_plan", "unknown_customer"]);


/** The price id of a plan on sale (STRIPE_PRICES), or undefined; only the configuration's own entries count. */
export function priceOfPlan(prices: Readonly<Record<string, string>>, plan: string): string | undefined {
  return Object.hasOwn(prices, plan) ? prices[plan] : undefined;
}

/** The plan a price id stands for (STRIPE_PRICES), or undefined. */
export function planOfPrice(prices: Readonly<Record<string, string>>, priceId: string | undefined): string | undefined {
  return Object.entries(prices).find(([, id]) => id === priceId)?.[0];
}

const idOf = (value: string | { id: string } | null | undefined) => (typeof value === "string" ? value : value?.id);

export async function applyStripeEvent(session: AdminSession, event: Stripe.Event, prices: Readonly<Record<string, string>>): Promise<StripeOutcome> {
  const recorded = await run(session, recordStripeDelivery, { eventId: event.id, eventType: event.type });
  if (recorded.length === 0) return "duplicate";
  switch (event.type) {
    case "checkout.session.completed": {
      const checkout = event.data.object;
      const userId = checkout.client_reference_id ?? checkout.metadata?.user_id;
      const customerId = idOf(checkout.customer);
      if (!userId || !isUuid(userId) || !customerId) return "ignored";
      const plan = checkout.metadata?.plan;
      const unpaid = checkout.payment_status === "unpaid";
      // Unpaid (an asynchronous payment still pending) or not a plan on sale: the customer is linked, no plan changes.
      const paidFor = plan && priceOfPlan(prices, plan) !== undefined && !unpaid ? plan : null;
      const outcome = single(
        await run(session, applyStripeCheckout, {
          userId,
          customerId,
          subscriptionId: idOf(checkout.subscription) ?? null,
          planName: paidFor,
          eventCreated: new Date(event.created * 1000),
        }),
        "apply_stripe_checkout",
      ).outcome as StripeOutcome;
      // A plan that is not on sale: recorded and acknowledged (a failure would make Stripe retry for days), and said.
      return outcome === "ignored" && plan && !unpaid && paidFor === null ? "unknown_plan" : outcome;
    }
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted": {
      const subscription = event.data.object;
      const item = subscription.items?.data?.[0];
      const plan = planOfPrice(prices, item?.price?.id);
      const deleted = event.type === "customer.subscription.deleted";
      if (!plan && !deleted) return "unknown_price";
      // Since API version 2025-03-31 the period lives on the items; older payloads carry it on the subscription.
      const periodEndSeconds = (item as { current_period_end?: number } | undefined)?.current_period_end ?? (subscription as { current_period_end?: number }).current_period_end;
      return (
        await run(session, applyStripeSubscription, {
          customerId: idOf(subscription.customer)!,
          subscriptionId: subscription.id,
          status: deleted ? "canceled" : subscription.status,
          planName: plan ?? "Free",
          cancelAtPeriodEnd: Boolean(subscription.cancel_at_period_end),
          periodEnd: periodEndSeconds ? new Date(periodEndSeconds * 1000) : null,
          // When Stripe created the subscription: of two live subscriptions, the later one is the user's.
          subscriptionCreated: typeof subscription.created === "number" ? new Date(subscription.created * 1000) : null,
          eventCreated: new Date(event.created * 1000),
        })
      )[0]!.outcome as StripeOutcome;
    }
    case "invoice.paid":
    case "invoice.payment_failed": {
      const invoice = event.data.object;
      const subscriptionId = invoiceSubscription(invoice);
      const customerId = idOf(invoice.customer);
      // An invoice of no subscription (a one-off) says nothing about a plan.
      if (!subscriptionId || !customerId || !invoice.id) return "ignored";
      return single(
        await run(session, applyStripeInvoice, { customerId, invoiceId: invoice.id, subscriptionId, paid: event.type === "invoice.paid" }),
        "apply_stripe_invoice",
      ).outcome as StripeOutcome;
    }
    default:
      return "ignored";
  }
}

/** The subscription an invoice bills: on the invoice before API version 2025-03-31, under parent.subscription_details since. */
function invoiceSubscription(invoice: Stripe.Invoice): string | undefined {
  const legacy = (invoice as { subscription?: string | { id: string } | null }).subscription;
  return idOf(legacy) ?? idOf(invoice.parent?.subscription_details?.subscription);
}

/** The user's Stripe customer id, or undefined before their first checkout. */
export async function stripeCustomer(session: AdminSession, userId: string): Promise<string | undefined> {
  return (await run(session, stripeCustomerOf, { userId }))[0]?.stripe_customer_id;
}

export async function linkCustomer(session: AdminSession, userId: string, customerId: string): Promise<void> {
  await run(session, linkStripeCustomer, { userId, customerId, subscriptionId: null });
}
