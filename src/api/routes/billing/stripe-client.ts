/**
 * The Stripe client the API uses, from configuration. STRIPE_API_BASE points
 * it at another host and port (the stripe package supports host, port and
 * protocol), so tests and development run against a local fake and need no
 * network.
 */
import Stripe from "stripe";
import type { BillingSettings } from "../../../config.ts";

export function stripeClient(billing: BillingSettings): Stripe | undefined {
  if (!billing.secretKey) return undefined;
  const base = billing.apiBase;
  return new Stripe(billing.secretKey, {
    maxNetworkRetries: 1,
    timeout: 20_000,
    ...(base ? { host: base.hostname, port: base.port || (base.protocol === "https:" ? 443 : 80), protocol: base.protocol.replace(":", "") as "http" | "https" } : {}),
  });
}
