/**
 * The GraphQL API over both databases: PostGraphile's schema, served by
 * grafserv on node's http server, behind the auth gate. Each database's work
 * for a request runs in its own transaction as authenticated_users (with the
 * user id set transaction-locally) or as the anonymous role, through the
 * authenticator login.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import type { Config } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import { jsonLinesLogger, type Logger } from "../../log.ts";
import { createMetrics, type Metrics } from "../../metrics.ts";
import { serveMetrics } from "../../metrics-server.ts";
import { jobQueueDepth } from "../../services/job-queue.ts";
import { DATABASE_KEYS, type Topology } from "../../topology.ts";
import { createSignInServices } from "../auth/sign-in-services.ts";
import { reloadSchemaOnNotice } from "../graphql/schema-reload.ts";
import { plainRoutes } from "../routes/plain-routes.ts";
import { makeApiPreset } from "./api-preset.ts";
import { createDrain } from "./drain.ts";
import { operationsPlugin, type ReadinessCheck } from "./operations.ts";
import { listenOn, takeOverRequests } from "./request-listener.ts";

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
  const metrics = options.metrics ?? createMetrics();
  metrics.watchPools(() => Object.fromEntries(DATABASE_KEYS.map((key) => [databases.database(key).name, databases.database(key).poolStats()])));
  // The queue's depth from any API process, wherever the worker runs (read at every scrape).
  metrics.setJobQueueReader(() => databases.platform.withQueue(jobQueueDepth));
  const access = config.observability.metrics;
  const log = options.log ?? jsonLinesLogger();
  const readinessChecks = options.readinessChecks ?? [];
  const operations = operationsPlugin({ databases, topology, metrics, access, slowOperationMs: config.observability.slowOperationMs, readinessChecks, log });
  const signInServices = createSignInServices(config, databases, metrics, log);
  const drain = createDrain(config.api.retryAfterSeconds);

  const preset = makeApiPreset({ config, databases, topology, log, signInServices, operations });
  // Listening before the first build, so a deploy's notice (alwrity deploy) is never missed between the two.
  const schemaReload = reloadSchemaOnNotice({ databases, settings: config, preset, log });
  await schemaReload.ready();
  const pgl = postgraphile(preset);
  const server = createServer();
  server.keepAliveTimeout = config.api.keepAliveTimeoutMs;
  // A request's headers may take longer than an idle gap; Node's own default (60 s) would be the shorter.
  server.headersTimeout = Math.max(server.headersTimeout, config.api.keepAliveTimeoutMs + 1_000);
  let metricsServer: Server | undefined;
  try {
    if (access.kind === "port") metricsServer = await serveMetrics(metrics, access.port, access.host);
    await pgl.getSchema(); // introspect before listening, so the first request is fast
    const serv = pgl.createServ(grafserv);
    await serv.addTo(server);
    schemaReload.attach(serv);
    takeOverRequests(server, drain, plainRoutes({ config, databases, log, ...signInServices }), log);
    await listenOn(server, config.api.port, config.api.host);
  } catch (error) {
    metricsServer?.close();
    await schemaReload.close();
    await Promise.resolve(pgl.release()).catch(() => undefined);
    await signInServices.revocations.close();
    throw error;
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
      await schemaReload.close();
      await pgl.release();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await signInServices.revocations.close();
    },
  };
}
