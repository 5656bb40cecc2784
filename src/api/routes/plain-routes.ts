/**
 * The routes that are not GraphQL, in the order they are matched: the user's
 * export, admin analytics, and each webhook and billing route only when its
 * secret or Stripe is configured (a route left out answers 404 from grafserv).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import type { SignIn } from "../auth/gate.ts";
import type { RateLimits } from "../http/rate-limits.ts";
import { adminAnalyticsHandler, isAdminAnalyticsPath } from "./admin-analytics.ts";
import { billingRoutes } from "./billing/routes.ts";
import { stripeClient } from "./billing/stripe-client.ts";
import { EXPORT_PATH, exportHandler } from "./user-export.ts";
import { CLERK_WEBHOOK_PATH, clerkWebhookHandler } from "./webhooks/clerk.ts";
import { STRIPE_WEBHOOK_PATH, stripeWebhookHandler } from "./webhooks/stripe.ts";

export interface PlainRoute {
  matches(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The log event when handle() rejects. */
  readonly failed: string;
}

export interface PlainRouteParts {
  readonly config: Config;
  readonly databases: Databases;
  readonly signIn: SignIn;
  readonly rateLimits: RateLimits;
  readonly log: Logger;
}

const at = (path: string) => (pathname: string) => pathname === path;

export function plainRoutes({ config, databases, signIn, rateLimits, log }: PlainRouteParts): PlainRoute[] {
  const { retryAfterSeconds, maxBodyBytes } = config.api;
  const routes: PlainRoute[] = [
    {
      matches: at(EXPORT_PATH),
      handle: exportHandler({ signIn, rateLimits, databases, retryAfterSeconds, timeoutMs: config.api.exportTimeoutMs, log }),
      failed: "export_failed",
    },
    {
      matches: isAdminAnalyticsPath,
      handle: adminAnalyticsHandler({ enabled: config.clerk.adminClaim !== undefined, signIn, databases, retryAfterSeconds, log }),
      failed: "admin_analytics_failed",
    },
  ];
  if (config.clerk.webhookSecret) {
    routes.push({ matches: at(CLERK_WEBHOOK_PATH), handle: clerkWebhookHandler(config.clerk.webhookSecret, databases, maxBodyBytes, log), failed: "webhook_failed" });
  }
  if (config.billing.webhookSecret) {
    const webhook = stripeWebhookHandler(config.billing.webhookSecret, config.billing.prices, databases, maxBodyBytes, log);
    routes.push({ matches: at(STRIPE_WEBHOOK_PATH), handle: webhook, failed: "webhook_failed" });
  }
  // Checkout and portal for signed-in users, only with a Stripe key.
  const stripe = stripeClient(config.billing);
  if (stripe) {
    const billing = billingRoutes({
      stripe,
      billing: config.billing,
      databases,
      signIn,
      retryAfterSeconds,
      maxBodyBytes,
      idempotencyKeyTtlSeconds: config.api.idempotencyKeyTtlSeconds,
      log,
    });
    for (const [path, handle] of Object.entries(billing)) routes.push({ matches: at(path), handle, failed: "billing_failed" });
  }
  return routes;
}
