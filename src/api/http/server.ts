/**
 * The GraphQL API over both databases: PostGraphile's schema, served by
 * grafserv on node's http server, behind the auth gate. Each database's work
 * for a request runs in its own transaction as authenticated_users (with the
 * user id set transaction-locally) or as the anonymous role, through the
 * authenticator login.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PersistedPlugin } from "@grafserv/persisted";
import type { Config } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import { jsonLinesLogger, type Logger } from "../../log.ts";
import { createMetrics, type Metrics } from "../../metrics.ts";
import { serveMetrics } from "../../metrics-server.ts";
import { DATABASE_KEYS, type Topology } from "../../topology.ts";
import { createAccountResolver, listenForRevocations } from "../auth/accounts.ts";
import { loadOrCreateDevKeys } from "../auth/dev-keys.ts";
import { createTokenVerifier } from "../auth/tokens.ts";
import { authGatePlugin, createSignIn } from "../auth/gate.ts";
import { adminAnalyticsHandler, isAdminAnalyticsPath } from "../routes/admin-analytics.ts";
import { databaseUnavailablePlugin } from "./database-unavailable.ts";
import { idempotencyPlugin } from "../idempotency/plugin.ts";
import { createDrain } from "./drain.ts";
import { operationsPlugin, type ReadinessCheck } from "./operations.ts";
import { operationLimitsPlugin } from "../graphql/operation-limits.ts";
import { clientAddressOf } from "./client-address.ts";
import { createRateLimits } from "./rate-limits.ts";
import { revokeOnDeletionPlugin } from "../graphql/revoke-on-deletion.ts";
import { jobQueueDepth } from "../../services/job-queue.ts";
import { EXPORT_PATH, exportHandler } from "../routes/user-export.ts";
import { CLERK_WEBHOOK_PATH, clerkWebhookHandler } from "../routes/webhooks/clerk.ts";
import { STRIPE_WEBHOOK_PATH, stripeWebhookHandler } from "../routes/webhooks/stripe.ts";
import { billingRoutes } from "../routes/billing/routes.ts";
import { stripeClient } from "../routes/billing/stripe-client.ts";

import { makeSchemaPreset } from "../graphql/preset.ts";

export interface ApiOptions {
  /** The process's metrics (src/platform.ts makes them); a fresh registry when absent. */
  readonly metrics?: Metrics;
  /** More checks for GET /ready (hook: the background worker registers "worker" here). */
  readonly readinessChecks?: readonly ReadinessCheck[];
  readonly log?: Logger;
}

export interface ApiServer {
  readonly url: string;
  /** Where /metrics is served with METRICS=port (undefined otherwise). */
  readonly metricsUrl: string | undefined;
  /** The in-browser IDE (Ruru), when API_GRAPHIQL is on (outside production by default). */
  readonly graphiqlUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * Serves the API over `databases`, the process's one database service API;
 * its owner closes it after stop().
 */
export async function startApiServer(config: Config, databases: Databases, topology: Topology, options: ApiOptions = {}): Promise<ApiServer> {
  const development = config.environment === "development";
  const metrics = options.metrics ?? createMetrics();
  metrics.watchPools(() => Object.fromEntries(DATABASE_KEYS.map((key) => [databases.database(key).name, databases.database(key).poolStats()])));
  const access = config.observability.metrics;
  const log = options.log ?? jsonLinesLogger();
  const operations = operationsPlugin({
    databases,
    topology,
    metrics,
    access,
    slowOperationMs: config.observability.slowOperationMs,
    readinessChecks: options.readinessChecks ?? [],
    log,
  });
  const verify = createTokenVerifier(config.clerk, development ? loadOrCreateDevKeys().publicKey : undefined);
  // The queue's depth from any API process, wherever the worker runs (read at every scrape).
  metrics.setJobQueueReader(() => databases.platform.withQueue(jobQueueDepth));
  const rateLimits = createRateLimits(config.api.rateLimits, (setting) => metrics.limitsHit.inc({ limit: setting }), {
    databases,
    log,
    onStoreFailure: () => metrics.rateLimitStoreFailures.inc(),
  });
  const resolveAccount = createAccountResolver(databases, rateLimits);
  const revocations = listenForRevocations(databases, config, resolveAccount);
  // The one sign-in of every route: the GraphQL gate's and the plain routes'.
  const signIn = createSignIn({ verify, resolveAccount, rateLimits, addressOf: clientAddressOf(config.api.trustedProxies) });
  const drain = createDrain(config.api.retryAfterSeconds);
  const trusted = config.api.trustedDocumentsDir;

  const preset: GraphileConfig.Preset = {
    extends: [makeSchemaPreset({ environment: config.environment, topology, databases, api: config.api })],
    // Middleware runs in this order: health, readiness, metrics and the request's measurements, then
    // 503 for a database away, then sign-in. The refusal while draining comes before all (drain.ts).
    plugins: [
      operations,
      databaseUnavailablePlugin(config.api.retryAfterSeconds),
      authGatePlugin({ signIn, retryAfterSeconds: config.api.retryAfterSeconds, requestTimeoutMs: config.fairUse.requestTimeoutMs, log }),
      // Inside sign-in (keys are per user) and the request's budget: one held transaction per keyed request.
      idempotencyPlugin({ ttlSeconds: config.api.idempotencyKeyTtlSeconds, retryAfterSeconds: config.api.retryAfterSeconds, log }),
      operationLimitsPlugin(config.api.limits, config.api.introspection),
      revokeOnDeletionPlugin((userId) => resolveAccount.revoke(userId)),
      // Trusted documents (API_TRUSTED_DOCUMENTS): only operations whose files are in the folder run.
      ...(trusted ? [PersistedPlugin] : []),
    ],
    ...(trusted ? { grafserv: { persistedOperationsDirectory: trusted, allowUnpersistedOperation: false } } : {}),
  };

  const pgl = postgraphile(preset);
  const server = createServer();
  server.keepAliveTimeout = config.api.keepAliveTimeoutMs;
  // A request's headers may take longer than an idle gap; Node's own default (60 s) would be the shorter.
  server.headersTimeout = Math.max(server.headersTimeout, config.api.keepAliveTimeoutMs + 1_000);
  let metricsServer: Server | undefined;
  try {
    if (access.kind === "port") metricsServer = await serveMetrics(metrics, access.port, access.host);
    await pgl.getSchema(); // introspect before listening, so the first request is fast
    await pgl.createServ(grafserv).addTo(server);
    // Routes that are not GraphQL go first; everything else to grafserv's listeners as before.
    const routes: { matches: (pathname: string) => boolean; handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>; failed: string }[] = [
      {
        matches: (pathname) => pathname === EXPORT_PATH,
        handle: exportHandler({
          signIn,
          rateLimits,
          databases,
          retryAfterSeconds: config.api.retryAfterSeconds,
          timeoutMs: config.api.exportTimeoutMs,
          log,
        }),
        failed: "export_failed",
      },
      {
        matches: isAdminAnalyticsPath,
        handle: adminAnalyticsHandler({
          enabled: config.clerk.adminClaim !== undefined,
          signIn,
          databases,
          retryAfterSeconds: config.api.retryAfterSeconds,
          log,
        }),
        failed: "admin_analytics_failed",
      },
    ];
    if (config.clerk.webhookSecret) {
      const webhook = clerkWebhookHandler(config.clerk.webhookSecret, databases, config.api.maxBodyBytes, log);
      routes.push({ matches: (pathname) => pathname === CLERK_WEBHOOK_PATH, handle: webhook, failed: "webhook_failed" });
    }
    // Billing: the Stripe webhook, and checkout and portal for signed-in users, each only when configured (404 otherwise).
    if (config.billing.webhookSecret) {
      const webhook = stripeWebhookHandler(config.billing.webhookSecret, config.billing.prices, databases, config.api.maxBodyBytes, log);
      routes.push({ matches: (pathname) => pathname === STRIPE_WEBHOOK_PATH, handle: webhook, failed: "webhook_failed" });
    }
    const stripe = stripeClient(config.billing);
    if (stripe) {
      const billing = billingRoutes({
        stripe,
        billing: config.billing,
        databases,
        signIn,
        retryAfterSeconds: config.api.retryAfterSeconds,
        maxBodyBytes: config.api.maxBodyBytes,
        idempotencyKeyTtlSeconds: config.api.idempotencyKeyTtlSeconds,
        log,
      });
      for (const [path, handle] of Object.entries(billing)) routes.push({ matches: (pathname) => pathname === path, handle, failed: "billing_failed" });
    }
    const grafservListeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners("request");
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (!drain.admit(req, res)) return;
      const pathname = req.url?.split("?")[0] ?? "";
      const route = routes.find((r) => r.matches(pathname));
      if (route) {
        void route.handle(req, res).catch((error: Error) => {
          log(route.failed, { path: pathname, message: error.message });
          if (!res.headersSent) res.writeHead(500).end();
          // After the first byte, a failure cuts the response off: a client never takes a partial answer for a whole one.
          else res.destroy(error);
        });
        return;
      }
      for (const listener of grafservListeners) listener.call(server, req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.api.port, config.api.host, resolve);
    });
  } catch (error) {
    metricsServer?.close();
    await Promise.resolve(pgl.release()).catch(() => undefined);
    await revocations.close();
    throw error instanceof Error && (error as NodeJS.ErrnoException).code === "EADDRINUSE"
      ? new Error(`port ${config.api.port} is already in use: stop the other server or set PORT`)
      : error;
  }

  const address = server.address() as AddressInfo;
  const host = config.api.host === "0.0.0.0" ? "localhost" : address.address;
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  let stopped = false;
  return {
    url: `${base}/graphql`,
    metricsUrl: metricsServer ? `http://${access.kind === "port" ? access.host : ""}:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined,
    graphiqlUrl: config.api.graphiql ? `${base}/graphiql` : undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      const { forced } = await drain.close(server, config.api.shutdownTimeoutMs);
      if (forced) process.stderr.write(`shutdown: requests still running after ${config.api.shutdownTimeoutMs / 1000} s (SHUTDOWN_TIMEOUT) were cut off\n`);
      await pgl.release();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await revocations.close();
    },
  };
}
