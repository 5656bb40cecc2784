/**
 * The process's metrics, in Prometheus' format (prom-client), on a registry of
 * their own: made once per process (src/platform.ts) and handed to whatever
 * records into it. The API records requests, errors, sign-in failures and
 * statement timeouts; the pools are read when Prometheus scrapes.
 *
 * Hooks for what other parts of the platform record (their instruments exist
 * already, so dashboards and alerts can be written against stable names):
 *   - limitsHit.inc({ limit })          request or rate limits refusing a request
 *   - jobFailures.inc({ task })         a background job's attempt failing
 *   - setJobQueueReader(fn)             job queue depth and failed jobs, read at every scrape
 *   - readiness checks: see ApiOptions.readinessChecks (src/api/http/server.ts)
 */
import client from "prom-client";
import type { PoolStats } from "./db/database.ts";

/** Request durations from 5 ms to 10 s: the API's queries take milliseconds; seconds mean trouble. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Distinct operation names kept as labels; beyond this (names come from clients) they count as "other". */
const MAX_OPERATION_NAMES = 200;

export interface JobQueueDepth {
  readonly task: string;
  /** Due and not taken by a worker. */
  readonly waiting: number;
  /** Out of attempts: they will not run again unless someone reschedules them. */
  readonly failed: number;
}

export interface Metrics {
  readonly registry: client.Registry;
  /** GraphQL requests by operation name and outcome (ok, error, unauthenticated, unavailable, refused). */
  readonly requestDuration: client.Histogram<"operation" | "outcome">;
  /** Database errors answered to clients, by SQLSTATE class (the first two characters: 23 integrity, 42 access, 57 cancelled …). */
  readonly databaseErrors: client.Counter<"sqlstate_class">;
  /** Sign-in refusals (HTTP 401), by the reason the auth gate gives. */
  readonly authFailures: client.Counter<"reason">;
  /** Statements cancelled by statement_timeout (SQLSTATE 57014), per database. */
  readonly statementTimeouts: client.Counter<"database">;
  /** Rate-limit counts the shared store (RATE_LIMIT_STORE=postgres) could not take, counted by the process alone instead. */
  readonly rateLimitStoreFailures: client.Counter;
  /** Hook: requests refused by a limit (body size, depth, cost, rate), by limit. */
  readonly limitsHit: client.Counter<"limit">;
  /** Hook: failed background job attempts, by task. */
  readonly jobFailures: client.Counter<"task">;
  /** Hook: tells the metrics how to read the job queue's depth; read at every scrape. */
  setJobQueueReader(read: () => Promise<readonly JobQueueDepth[]>): void;
  /** Reads the pools' counts at every scrape. */
  watchPools(pools: () => Record<string, PoolStats>): void;
  /** A bounded operation label: the name, or "anonymous" / "other". */
  operationLabel(name: string | undefined): string;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; text: string }>;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "alwrity_" });
  // prom-client names these gauges *_total, which Prometheus keeps for counters (promtool flags them);
  // the event loop lag, memory and CPU metrics say what they would.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(`alwrity_${name}`);
  const registers = [registry];

  let readPools: () => Record<string, PoolStats> = () => ({});
  let readJobQueue: (() => Promise<readonly JobQueueDepth[]>) | undefined;
  const poolGauge = (name: string, help: string, field: keyof PoolStats) =>
    new client.Gauge({
      name,
      help,
      labelNames: ["database"],
      registers,
      collect() {
        this.reset();
        for (const [database, stats] of Object.entries(readPools())) this.set({ database }, stats[field]);
      },
    });
  poolGauge("alwrity_db_pool_connections", "Connections open in the database pool (idle or in use).", "total");
  poolGauge("alwrity_db_pool_idle_connections", "Idle connections in the database pool.", "idle");
  poolGauge("alwrity_db_pool_waiting_requests", "Requests waiting for a connection from the database pool.", "waiting");
  // One read of the queue per scrape, shared by its two gauges (a scrape starts every collect at
  // once); a failed read (the database away) leaves them without series rather than failing the scrape.
  let queueRead: Promise<readonly JobQueueDepth[]> | undefined;
  const readQueueOnce = () =>
    (queueRead ??= (readJobQueue?.() ?? Promise.resolve([])).catch(() => []).finally(() => (queueRead = undefined)));
  const queueGauge = (name: string, help: string, field: "waiting" | "failed") =>
    new client.Gauge({
      name,
      help,
      labelNames: ["task"],
      registers,
      async collect() {
        const depth = await readQueueOnce();
        this.reset();
        for (const row of depth) this.set({ task: row.task }, row[field]);
      },
    });
  queueGauge("alwrity_job_queue_depth", "Background jobs due and not yet taken by a worker, by task.", "waiting");
  queueGauge("alwrity_job_queue_failed", "Background jobs that used up their attempts and will not run again unless rescheduled, by task.", "failed");

  const names = new Set<string>();
  return {
    registry,
    requestDuration: new client.Histogram({
      name: "alwrity_graphql_request_duration_seconds",
      help: "GraphQL request duration, by operation name and outcome.",
      labelNames: ["operation", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    databaseErrors: new client.Counter({ name: "alwrity_database_errors_total", help: "Database errors returned to clients, by SQLSTATE class.", labelNames: ["sqlstate_class"], registers }),
    authFailures: new client.Counter({ name: "alwrity_auth_failures_total", help: "Requests refused for their credentials (HTTP 401), by reason.", labelNames: ["reason"], registers }),
    statementTimeouts: new client.Counter({ name: "alwrity_statement_timeouts_total", help: "Statements cancelled by statement_timeout, per database.", labelNames: ["database"], registers }),
    rateLimitStoreFailures: new client.Counter({
      name: "alwrity_rate_limit_store_failures_total",
      help: "Rate-limit counts the shared store could not take; each was counted by this process alone.",
      registers,
    }),
    limitsHit: new client.Counter({ name: "alwrity_limits_hit_total", help: "Requests refused by a request or rate limit, by limit.", labelNames: ["limit"], registers }),
    jobFailures: new client.Counter({ name: "alwrity_job_failures_total", help: "Failed background job attempts, by task.", labelNames: ["task"], registers }),
    setJobQueueReader: (read) => void (readJobQueue = read),
    watchPools: (pools) => void (readPools = pools),
    operationLabel(name) {
      if (!name) return "anonymous";
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return "other";
      if (names.has(name)) return name;
      if (names.size >= MAX_OPERATION_NAMES) return "other";
      names.add(name);
      return name;
    },
    async render() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
