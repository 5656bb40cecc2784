/**
 * What operators and load balancers ask the API, and what it tells them
 * about each request, as one grafserv middleware that sees every request
 * before anything else but the drain:
 *
 *   GET /health   200 while the process serves HTTP (liveness); touches no database.
 *   GET /ready    200 when both databases answer through the API's own pools and
 *                 every committed migration is applied (checked at most every
 *                 MIGRATIONS_CHECK_MS), and every registered check passes; else 503.
 *   GET /metrics  Prometheus' text format, when METRICS is open or token (with the
 *                 bearer token); METRICS=port serves it on a port of its own instead.
 *
 * Around each GraphQL request it records the duration by operation name and
 * outcome, errors by SQLSTATE class, the limits that refused it (operation
 * limits, page sizes, the user's share of a pool; rate limits are counted
 * where they refuse, for every route) and sign-in failures by reason, and logs
 * an operation slower than SLOW_OPERATION_MS as one JSON line. Bodies carry
 * no secrets: database names and check names, never URLs or driver messages.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { timingSafeEqual } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";
import { PROJECT_ROOT, type MetricsAccess } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { DATABASE_KEYS, databaseFiles, type Topology } from "../../topology.ts";

/** A readiness check other parts register (the worker: "running"); `ok: false` makes /ready answer 503. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}

/** How long a migrations check is trusted: /ready may be called every second; migrations change at deploys. */
const MIGRATIONS_CHECK_MS = 10_000;

interface Observation {
  operation?: string;
  errored: boolean;
  /** SQLSTATE classes of the database errors in the response. */
  sqlstateClasses: string[];
}
const observed = new AsyncLocalStorage<Observation>();

/** Called by the error mask for each error of a response, with its SQLSTATE when it is a database error. */
export function noteResponseError(sqlstate: string | undefined): void {
  const store = observed.getStore();
  if (!store) return;
  store.errored = true;
  if (sqlstate) store.sqlstateClasses.push(sqlstate.slice(0, 2));
}

/** How a body that holds only errors begins: validation's refusals, which never pass the error mask. */
const ERRORS_FIRST = Buffer.from('{"errors":');
const LIMIT_CODE = Buffer.from('_LIMIT"');
const SHARE_CODE = Buffer.from('"TOO_MANY_CONNECTIONS"');

/**
 * The settings of the limits that refused (part of) a response, read from its
 * errors' extensions. The answer is already serialised, and validation's
 * refusals (cached with the document) never pass the error mask, so the body
 * is read, but only a body that can hold an error: one whose errors the mask
 * saw (`errored`), or one that begins with its errors, as a refusal before
 * execution does. A successful answer is never searched; one with errors is,
 * for a limit's code, before it is parsed.
 */
function limitsRefusing(result: unknown, errored: boolean): string[] {
  const body = (result as { type?: string; buffer?: Buffer } | null)?.type === "buffer" ? (result as { buffer: Buffer }).buffer : undefined;
  if (!body || !(errored || body.subarray(0, ERRORS_FIRST.length).equals(ERRORS_FIRST))) return [];
  if (!(body.includes(LIMIT_CODE) || body.includes(SHARE_CODE))) return [];
  let errors: readonly { extensions?: Record<string, unknown> }[] | undefined;
  try {
    errors = (JSON.parse(body.toString("utf8")) as { errors?: typeof errors }).errors;
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const { extensions } of Array.isArray(errors) ? errors : []) {
    if ((extensions?.code === "OPERATION_LIMIT" || extensions?.code === "PAGE_SIZE_LIMIT") && typeof extensions.limit === "string") found.push(extensions.limit);
    else if (extensions?.code === "TOO_MANY_CONNECTIONS") found.push("DB_MAX_USER_POOL_SHARE");
  }
  return found;
}

export interface OperationsOptions {
  readonly databases: Databases;
  readonly topology: Topology;
  readonly metrics: Metrics;
  readonly access: MetricsAccess;
  readonly slowOperationMs: number;
  readonly readinessChecks: readonly ReadinessCheck[];
  readonly log: Logger;
}

export function operationsPlugin(options: OperationsOptions): GraphileConfig.Plugin {
  const ready = readiness(options);
  return {
    name: "AlwrityOperationsPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next, event) {
          const { path: url, method } = event.requestDigest;
          if (method === "GET" && url === "/health") return json(200, { status: "ok" });
          if (method === "GET" && url === "/ready") {
            const report = await ready();
            return json(report.ready ? 200 : 503, { status: report.ready ? "ready" : "not ready", checks: report.checks });
          }
          if (url === "/metrics" && (options.access.kind === "open" || options.access.kind === "token")) {
            if (options.access.kind === "token" && !bearerMatches(event.requestDigest.headers.authorization, options.access.token)) {
              return json(401, { error: "metrics need Authorization: Bearer <METRICS_TOKEN>" }, { "www-authenticate": "Bearer" });
            }
            const { contentType, text } = await options.metrics.render();
            return { type: "buffer" as const, statusCode: 200, headers: { "content-type": contentType, "cache-control": "no-store" }, buffer: Buffer.from(text) };
          }
          if (url !== event.resolvedPreset.grafserv?.graphqlPath && url !== "/graphql") return next();
          return observeRequest(options, next, () => event.requestDigest.requestContext.node?.res?.getHeader("x-request-id"));
        },
        processGraphQLRequestBody(next, event) {
          const store = observed.getStore();
          if (store) store.operation = (event.body.operationName as string | undefined) ?? firstOperationName(event.body.query);
          return next();
        },
      },
    },
  };
}

/** `requestId`: the id the auth gate gave the request (its x-request-id header), read once the request is done. */
async function observeRequest<T extends { statusCode?: number } | null>(options: OperationsOptions, next: () => PromiseLike<T> | T, requestId: () => unknown): Promise<T> {
  const store: Observation = { errored: false, sqlstateClasses: [] };
  const started = performance.now();
  const result = await observed.run(store, () => Promise.resolve(next()));
  const seconds = (performance.now() - started) / 1000;
  const status = result?.statusCode ?? 200;
  const outcome = status === 401 ? "unauthenticated" : status === 503 ? "unavailable" : status >= 400 && status < 500 ? "refused" : status >= 500 || store.errored ? "error" : "ok";
  for (const sqlstateClass of store.sqlstateClasses) options.metrics.databaseErrors.inc({ sqlstate_class: sqlstateClass });
  for (const limit of new Set(limitsRefusing(result, store.errored))) options.metrics.limitsHit.inc({ limit });
  if (status === 401) options.metrics.authFailures.inc({ reason: authReason(result) });
  const operation = options.metrics.operationLabel(store.operation);
  options.metrics.requestDuration.observe({ operation, outcome }, seconds);
  const ms = Math.round(seconds * 1000 * 10) / 10;
  if (ms >= options.slowOperationMs) {
    options.log("slow_operation", { operation: store.operation ?? null, ms, outcome, status, requestId: requestId() ?? requestIdOf(result) });
  }
  return result;
}

/** The auth gate's 401 body names its reason (extensions.reason); a bounded label either way. */
function authReason(result: unknown): string {
  const reason = (result as { json?: { errors?: { extensions?: { reason?: unknown } }[] } } | null)?.json?.errors?.[0]?.extensions?.reason;
  return typeof reason === "string" && /^[a-z-]{1,40}$/.test(reason) ? reason : "unknown";
}

function requestIdOf(result: unknown): string | null {
  const headers = (result as { headers?: Record<string, string> } | null)?.headers;
  return headers?.["x-request-id"] ?? null;
}

/** The name of the document's first operation, read cheaply (no parse): `query Name`, `mutation Name`. */
function firstOperationName(query: unknown): string | undefined {
  return typeof query === "string" ? /^\s*(?:query|mutation|subscription)\s+([A-Za-z_]\w*)/m.exec(query)?.[1] : undefined;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function json(statusCode: number, body: object, headers: Record<string, string> = {}) {
  return {
    type: "json" as const,
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
    json: body as never,
  };
}

interface CheckResult {
  ok: boolean;
  detail?: string;
  latencyMs?: number;
}

/** The committed migrations of each database, as the checkout has them. */
function committedMigrations(topology: Topology): Record<string, string[]> {
  return Object.fromEntries(
    topology.databases.map((db) => [db.key, readdirSync(path.join(PROJECT_ROOT, databaseFiles(db).committed)).filter((f) => /^\d+\.sql$/.test(f)).sort()]),
  );
}

function readiness(options: OperationsOptions): () => Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
  const expected = committedMigrations(options.topology);
  let migrations: { at: number; result: Promise<CheckResult> } | undefined;
  const checkMigrations = async (): Promise<CheckResult> => {
    const applied = await options.databases.appliedMigrations();
    const missing = DATABASE_KEYS.flatMap((key) => expected[key]!.filter((f) => !applied[key].includes(f)).map((f) => `${options.topology.database(key).name}/${f}`));
    return missing.length === 0 ? { ok: true } : { ok: false, detail: `not applied: ${missing.join(", ")}` };
  };
  return async () => {
    const checks: Record<string, CheckResult> = {};
    for (const report of await options.databases.testConnections()) {
      checks[report.key] = report.reachable ? { ok: true, latencyMs: report.latencyMs } : { ok: false, detail: "unreachable" };
      if (!report.reachable) options.log("not_ready", { database: report.database, message: report.error });
    }
    if (DATABASE_KEYS.every((key) => checks[key]!.ok)) {
      if (!migrations || Date.now() - migrations.at > MIGRATIONS_CHECK_MS) {
        const result = checkMigrations().catch((error: unknown) => {
          options.log("not_ready", { check: "migrations", message: (error as Error).message });
          return { ok: false, detail: "could not read the applied migrations" };
        });
        migrations = { at: Date.now(), result };
      }
      checks.migrations = await migrations.result;
      if (!checks.migrations.ok) migrations = undefined; // a failed check is repeated at the next call
    } else {
      checks.migrations = { ok: false, detail: "a database is unreachable" };
    }
    for (const extra of options.readinessChecks) {
      checks[extra.name] = await extra.check().catch((error: unknown) => ({ ok: false, detail: (error as Error).message }));
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
}
