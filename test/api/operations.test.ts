/**
 * Running it in production: /health, /ready and /metrics on the real API
 * server, with Prometheus' own promtool judging the metrics, and the slow
 * operation and statement logs.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { startApiServer, type ApiServer } from "../../src/api/http/server.ts";
import { statementObserver } from "../../src/api/graphql/statement-log.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import { endpointsEnv, ownDeployment, sharedEndpoints, type Endpoints } from "../support/databases.ts";
import { checkMetrics } from "../support/promtool.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { makeClerkKeys } from "./api-harness.ts";
import type { ReadinessCheck } from "../../src/api/http/operations.ts";
import { connect } from "../support/connect.ts";

interface Running {
  api: ApiServer;
  databases: Databases;
  metrics: Metrics;
  logs: Record<string, unknown>[];
  base: string;
  stop(): Promise<void>;
}

const keys = makeClerkKeys();

async function start(endpoints: Endpoints, env: Record<string, string> = {}, readinessChecks: ReadinessCheck[] = []): Promise<Running> {
  const config: Config = loadConfig({ ...endpointsEnv(endpoints), CLERK_JWT_KEY: keys.publicKey, ...env });
  const logs: Record<string, unknown>[] = [];
  const log = (event: string, fields: Record<string, unknown> = {}) => void logs.push({ event, ...fields });
  const metrics = createMetrics();
  const databases = createDatabases(endpoints, config, { logger: log, onStatement: statementObserver(config.observability.slowStatementMs, metrics, log) });
  const api = await startApiServer(config, databases, endpoints.topology, { metrics, log, readinessChecks });
  return {
    api,
    databases,
    metrics,
    logs,
    base: api.url.replace(/\/graphql$/, ""),
    async stop() {
      await api.stop();
      await databases.close();
    },
  };
}

const gql = (r: Running, query: string, headers: Record<string, string> = {}) =>
  fetch(r.api.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query }) });

describe("on the shared deployment", () => {
  let r: Running;
  beforeAll(async () => {
    r = await start(sharedEndpoints(), { SLOW_OPERATION_MS: "0" });
  });
  afterAll(() => r?.stop());

  test("GET /health answers 200 without touching a database", async () => {
    const response = await fetch(`${r.base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("GET /ready answers 200 when both databases answer and every committed migration is applied, naming no URL or password", async () => {
    const response = await fetch(`${r.base}/ready`);
    const text = await response.text();
    expect(response.status).toBe(200);
    const body = JSON.parse(text) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe("ready");
    expect(Object.keys(body.checks).sort()).toEqual(["migrations", "platform", "userData"]);
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
    expect(text).not.toMatch(/postgres(ql)?:\/\/|password|127\.0\.0\.1/i);
  });

  test("/metrics passes promtool and shows requests by operation and outcome, SQLSTATE classes, auth failures and the pools", async () => {
    expect((await gql(r, "query PlansForMetrics { subscriptionPlans { nodes { name } } }")).status).toBe(200);
    // The anonymous role may not create projects: a database error of class 42 (access), told to the client as a request to sign in.
    const denied = await (await gql(r, 'mutation DeniedForMetrics { createProject(input: { project: { projectName: "x", projectType: BLOG } }) { project { rowId } } }')).json();
    expect((denied as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
    expect((await gql(r, "{ __typename }", { authorization: "Bearer not-a-token" })).status).toBe(401);

    const response = await fetch(`${r.base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const verdict = checkMetrics(text);
    expect(verdict.output).toBe("");
    expect(verdict.ok).toBe(true);
    expect(text).toMatch(/^alwrity_graphql_request_duration_seconds_count\{operation="PlansForMetrics",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^alwrity_graphql_request_duration_seconds_count\{operation="DeniedForMetrics",outcome="error"\} 1$/m);
    expect(text).toMatch(/^alwrity_database_errors_total\{sqlstate_class="42"\} [1-9]/m);
    expect(text).toMatch(/^alwrity_auth_failures_total\{reason="[a-z-]+"\} 1$/m);
    const platformName = sharedEndpoints().platform.name;
    expect(text).toMatch(new RegExp(`^alwrity_db_pool_connections\\{database="${platformName}"\\} \\d+$`, "m"));
    expect(text).toMatch(/^alwrity_db_pool_waiting_requests\{database="[a-z0-9_]+"\} 0$/m);
    for (const hook of ["alwrity_limits_hit_total", "alwrity_job_failures_total", "alwrity_job_queue_depth", "alwrity_statement_timeouts_total"]) expect(text).toContain(`# TYPE ${hook} `);
  });

  test("a kept-alive connection idle for longer than Node's 5 s default still carries the next request (API_KEEP_ALIVE_TIMEOUT)", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // One request on the agent's only connection: its status, the Keep-Alive it was told, and the client port it used.
    const health = () =>
      new Promise<{ status: number; keepAlive: string; port: number }>((resolve, reject) => {
        const req = request(`${r.base}/health`, { agent }, (res) => {
          const port = res.socket.localPort!;
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, keepAlive: String(res.headers["keep-alive"]), port }));
        });
        req.on("error", reject);
        req.end();
      });
    try {
      const first = await health();
      expect(first.keepAlive).toBe("timeout=65");
      await sleep(6_000);
      const second = await health();
      expect(second.status).toBe(200);
      expect(second.port, "the idle connection was closed by the server and a new one opened").toBe(first.port);
    } finally {
      agent.destroy();
    }
  });

  test("promtool really judges: a malformed exposition fails", () => {
    expect(checkMetrics("# TYPE alwrity_x counter\nalwrity_x 1\n").ok).toBe(false);
  });

  test("each operation slower than SLOW_OPERATION_MS is one JSON line with its name, duration, outcome and request id", async () => {
    const response = await gql(r, "query SlowLogged { subscriptionPlans { nodes { name } } }");
    expect(response.status).toBe(200);
    const line = r.logs.find((l) => l.event === "slow_operation" && l.operation === "SlowLogged");
    expect(line).toMatchObject({ operation: "SlowLogged", outcome: "ok", status: 200, requestId: response.headers.get("x-request-id") });
    expect(typeof line!.ms).toBe("number");
  });

  test("a statement slower than SLOW_STATEMENT_MS is logged with its database and duration, never its parameter values; a statement timeout is counted", async () => {
    const db = r.databases.platform;
    await db.withAnonymous((s) => s.query("select pg_sleep(0.3), $1::text as secret", ["do-not-log-me"]));
    const line = r.logs.find((l) => l.event === "slow_statement" && String(l.statement).includes("pg_sleep(0.3)"));
    expect(line).toMatchObject({ database: db.name, requestId: null });
    expect(line!.ms as number).toBeGreaterThanOrEqual(250);
    expect(JSON.stringify(r.logs)).not.toContain("do-not-log-me");

    const before = (await r.metrics.statementTimeouts.get()).values.find((v) => v.labels.database === db.name)?.value ?? 0;
    await expect(db.withAnonymous(async (s) => {
      await s.query("set local statement_timeout = 50");
      await s.query("select pg_sleep(5)");
    })).rejects.toMatchObject({ code: "57014" });
    const after = (await r.metrics.statementTimeouts.get()).values.find((v) => v.labels.database === db.name)?.value ?? 0;
    expect(after).toBe(before + 1);
  });
});

describe("metrics access", () => {
  const token = "t".repeat(40);
  test("METRICS=token: 401 without the bearer token, 200 with it", async () => {
    const r = await start(sharedEndpoints(), { METRICS: "token", METRICS_TOKEN: token });
    try {
      expect((await fetch(`${r.base}/metrics`)).status).toBe(401);
      expect((await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${"x".repeat(40)}` } })).status).toBe(401);
      const ok = await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("alwrity_graphql_request_duration_seconds");
    } finally {
      await r.stop();
    }
  });

  test("METRICS=off: no /metrics at all; METRICS=port: only on its own port", async () => {
    const off = await start(sharedEndpoints(), { METRICS: "off" });
    try {
      expect((await fetch(`${off.base}/metrics`)).status).toBe(404);
    } finally {
      await off.stop();
    }
    const { freePort } = await import("../../src/bootstrap/embedded-server.ts");
    const port = await freePort();
    const own = await start(sharedEndpoints(), { METRICS: "port", METRICS_PORT: String(port) });
    try {
      expect((await fetch(`${own.base}/metrics`)).status).toBe(404);
      expect(own.api.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
      const response = await fetch(own.api.metricsUrl!);
      expect(response.status).toBe(200);
      expect(checkMetrics(await response.text()).ok).toBe(true);
    } finally {
      await own.stop();
    }
  });

  test("alwrity_limits_hit_total counts every refusal by its setting: operation limits (a repeated document too), page sizes, rate limits", async () => {
    const r = await start(sharedEndpoints(), { API_MAX_DEPTH: "3", RATE_LIMIT_PER_ADDRESS: "5" });
    try {
      const hits = async () => {
        const text = await (await fetch(`${r.base}/metrics`)).text();
        return Object.fromEntries([...text.matchAll(/^alwrity_limits_hit_total\{limit="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
      };
      const deep = "query TooDeep { subscriptionPlans { nodes { name features } pageInfo { hasNextPage } edges { node { name } } } }";
      const tooDeep = "query Deeper { a: subscriptionPlans { edges { node { name } } } b: subscriptionPlans { edges { node { name } } } }";
      // Validation results are cached per document: the second refusal of the same document must count too.
      for (const query of [tooDeep, tooDeep]) {
        const answer = (await (await gql(r, query)).json()) as { errors: { extensions: { code: string } }[] };
        expect(answer.errors[0]!.extensions.code).toBe("OPERATION_LIMIT");
      }
      expect(((await (await gql(r, deep)).json()) as { errors?: unknown }).errors).toBeDefined();
      const page = (await (await gql(r, "query Huge { subscriptionPlans(first: 1000) { nodes { name } } }")).json()) as { errors: { extensions: { code: string } }[] };
      expect(page.errors[0]!.extensions.code).toBe("PAGE_SIZE_LIMIT");
      // Four requests so far from this address, and the limit is five: the sixth is refused.
      expect((await gql(r, "{ __typename }")).status).toBe(200);
      expect((await gql(r, "{ __typename }")).status).toBe(429);
      expect(await hits()).toEqual({ API_MAX_DEPTH: 3, API_MAX_PAGE_SIZE: 1, RATE_LIMIT_PER_ADDRESS: 1 });
    } finally {
      await r.stop();
    }
  });

  test("production refuses open metrics, and token or port without their value", () => {
    const prod = { ENVIRONMENT: "production", PLATFORM_DATABASE_URL: "postgresql://a:b@h/p", USER_DATA_DATABASE_URL: "postgresql://a:b@h/u", CLERK_SECRET_KEY: "sk_test_x", CLERK_ISSUER: "https://clerk.example.com", CLERK_AUTHORIZED_PARTIES: "https://app.example.com" };
    expect(loadConfig(prod).observability.metrics).toEqual({ kind: "off" });
    expect(() => loadConfig({ ...prod, METRICS: "open" })).toThrow(/METRICS=open is refused in production/);
    expect(() => loadConfig({ ...prod, METRICS: "token" })).toThrow(/METRICS=token needs METRICS_TOKEN/);
    expect(() => loadConfig({ ...prod, METRICS: "token", METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN must be at least 32 characters/);
    expect(() => loadConfig({ ...prod, METRICS: "port" })).toThrow(/METRICS=port needs METRICS_PORT/);
  });
});

describe("not ready", () => {
  const own = ownDeployment();

  const asAdmin = <T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const url = new URL(testDeployment().adminUrl);
    url.pathname = `/${database}`;
    return connect(url.toString(), fn);
  };

  test("a database that cannot be reached makes /ready 503, while /health stays 200", async () => {
    const e = own();
    const r = await start(e, { DB_POOL_TIMEOUT: "2" });
    try {
      expect((await fetch(`${r.base}/ready`)).status).toBe(200);
      // The user-data database stops taking connections, and loses the ones it had.
      await asAdmin("postgres", async (admin) => {
        await admin.query(`alter database ${e.userData.name} allow_connections false`);
        await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [e.userData.name]);
      });
      const response = await fetch(`${r.base}/ready`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: "not ready", checks: { platform: { ok: true }, userData: { ok: false, detail: "unreachable" } } });
      expect((await fetch(`${r.base}/health`)).status).toBe(200);
    } finally {
      await asAdmin("postgres", (admin) => admin.query(`alter database ${e.userData.name} allow_connections true`));
      await r.stop();
    }
  });

  test("a committed migration not applied makes /ready 503 naming it; a registered check that fails does too", async () => {
    const e = own();
    const { rows } = await asAdmin(e.userData.name, (admin) =>
      admin.query<{ filename: string }>("delete from graphile_migrate.migrations where filename = (select max(filename) from graphile_migrate.migrations) returning filename"),
    );
    const r = await start(e, {}, [{ name: "worker", check: async () => ({ ok: false, detail: "not running" }) }]);
    try {
      const response = await fetch(`${r.base}/ready`);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      expect(body.checks.migrations).toEqual({ ok: false, detail: `not applied: ${e.userData.name}/${rows[0]!.filename}` });
      expect(body.checks.worker).toEqual({ ok: false, detail: "not running" });
    } finally {
      await r.stop();
    }
  });
});
