import path from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError, PROJECT_ROOT, loadConfig, redactUrl } from "../src/config.ts";
import { crontab } from "../src/worker/tasks.ts";

const PLATFORM = "postgresql://api:s3cret-platform@db.example.com:5432/alwrity_platform";
const USER_DATA = "postgresql://api:s3cret-userdata@db.example.com:5432/alwrity_user_data";
const PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----";
/** What production needs besides a key: the tokens' issuer and the sites allowed to present them. */
const CLERK_CHECKS = { CLERK_ISSUER: "https://clerk.example.com", CLERK_AUTHORIZED_PARTIES: "https://app.example.com" };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  test("defaults follow the seed: pool 20 + 30 overflow, 30 s timeout, 3600 s recycle, no echo, development", () => {
    const config = loadConfig({});
    expect(config.environment).toBe("development");
    expect(config.pool).toEqual({ size: 20, maxOverflow: 30, timeoutMs: 30_000, recycleSeconds: 3600 });
    expect(config.echo).toBe(false);
    expect(config.envPrefix).toBe("");
  });

  test("without URLs, development uses the embedded server with a persistent, git-ignored data directory", () => {
    expect(loadConfig({}).source).toEqual({ kind: "embedded", dataDir: path.join(PROJECT_ROOT, ".data", "postgres"), port: 54329 });
  });

  test("the test environment gets a throw-away embedded server on a free port", () => {
    expect(loadConfig({ ENVIRONMENT: "test" }).source).toEqual({ kind: "embedded", dataDir: null, port: 0 });
  });

  test("the data directory is configurable and made absolute", () => {
    const source = loadConfig({ EMBEDDED_PG_DATA_DIR: "tmp/pg" }).source;
    expect(source).toMatchObject({ kind: "embedded", dataDir: path.join(PROJECT_ROOT, "tmp/pg") });
  });

  test("both URLs select the external databases", () => {
    const config = loadConfig({ PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, ENVIRONMENT: "production", CLERK_JWT_KEY: PEM, ...CLERK_CHECKS });
    expect(config.source).toMatchObject({ kind: "urls", platformUrl: PLATFORM, userDataUrl: USER_DATA });
  });

  test("an admin URL alone selects provisioning on that server", () => {
    expect(loadConfig({ DATABASE_ADMIN_URL: "postgres://postgres@127.0.0.1:5432/postgres" }).source.kind).toBe("admin");
  });

  test("production without both URLs refuses to start and says what is needed", () => {
    expect(problemsOf({ ENVIRONMENT: "production", CLERK_JWT_KEY: PEM, ...CLERK_CHECKS })).toEqual([
      expect.stringMatching(/^ENVIRONMENT=production needs PLATFORM_DATABASE_URL and USER_DATA_DATABASE_URL/),
    ]);
  });

  test("one URL without the other is an error naming the missing one", () => {
    expect(problemsOf({ PLATFORM_DATABASE_URL: PLATFORM })).toEqual([
      expect.stringMatching(/^PLATFORM_DATABASE_URL is set but USER_DATA_DATABASE_URL is not/),
    ]);
    expect(problemsOf({ USER_DATA_DATABASE_URL: USER_DATA })[0]).toMatch(/^USER_DATA_DATABASE_URL is set but PLATFORM_DATABASE_URL is not/);
  });

  test.each([
    ["DB_POOL_SIZE", "twenty", "DB_POOL_SIZE must be a whole number from 1 up"],
    ["DB_POOL_SIZE", "0", "DB_POOL_SIZE must be a whole number from 1 up"],
    ["DB_MAX_OVERFLOW", "-1", "DB_MAX_OVERFLOW must be a whole number from 0 up"],
    ["DB_POOL_TIMEOUT", "0", "DB_POOL_TIMEOUT must be a number of seconds greater than 0"],
    ["DB_POOL_RECYCLE", "1h", "DB_POOL_RECYCLE must be a whole number from 0 up"],
    ["DATABASE_ECHO", "maybe", "DATABASE_ECHO must be true or false"],
    ["ENVIRONMENT", "staging", "ENVIRONMENT must be one of development, test, production"],
    ["EMBEDDED_PG_PORT", "70000", "EMBEDDED_PG_PORT must be a whole number from 0 to 65535"],
    ["DATABASE_ENV_PREFIX", "Bad-Prefix", "DATABASE_ENV_PREFIX must be a lowercase identifier"],
  ])("a malformed %s (%s) is named with its expected form", (name, value, message) => {
    expect(problemsOf({ [name]: value })[0]).toContain(message);
  });

  test("every problem is reported at once", () => {
    expect(problemsOf({ DB_POOL_SIZE: "x", DATABASE_ECHO: "x", ENVIRONMENT: "x" })).toHaveLength(3);
  });

  test.each(["mysql://u:p@h/db", "postgresql://u:hunter2@host", "not a url hunter2"])(
    "a malformed database URL is refused without echoing it (%s)",
    (url) => {
      const problems = problemsOf({ PLATFORM_DATABASE_URL: url, USER_DATA_DATABASE_URL: USER_DATA });
      expect(problems).toEqual(["PLATFORM_DATABASE_URL must be a URL of the form postgresql://user:password@host:port/database"]);
      expect(problems.join()).not.toContain("hunter2");
    },
  );

  test("production without a Clerk key refuses to start: nobody could sign in", () => {
    expect(problemsOf({ ENVIRONMENT: "production", PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, ...CLERK_CHECKS })).toEqual([
      expect.stringMatching(/^ENVIRONMENT=production needs CLERK_JWT_KEY .* or CLERK_SECRET_KEY/),
    ]);
  });

  test("production without CLERK_ISSUER and CLERK_AUTHORIZED_PARTIES refuses to start, naming both", () => {
    expect(problemsOf({ ENVIRONMENT: "production", PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, CLERK_JWT_KEY: PEM })).toEqual([
      expect.stringMatching(/^ENVIRONMENT=production needs CLERK_ISSUER and CLERK_AUTHORIZED_PARTIES/),
    ]);
    expect(problemsOf({ ENVIRONMENT: "production", PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, CLERK_JWT_KEY: PEM, CLERK_ISSUER: CLERK_CHECKS.CLERK_ISSUER })).toEqual([
      expect.stringMatching(/^ENVIRONMENT=production needs CLERK_AUTHORIZED_PARTIES:/),
    ]);
  });

  test("production turns introspection and GraphiQL off unless told otherwise; limits have their defaults", () => {
    const base = { ENVIRONMENT: "production", PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, CLERK_JWT_KEY: PEM, ...CLERK_CHECKS };
    expect(loadConfig(base).api).toMatchObject({ introspection: false, graphiql: false });
    expect(loadConfig({ ...base, API_INTROSPECTION: "true", API_GRAPHIQL: "true" }).api).toMatchObject({ introspection: true, graphiql: true });
    expect(loadConfig({}).api).toMatchObject({ introspection: true, graphiql: true });
    expect(loadConfig({}).api.limits).toEqual({ depth: 10, aliases: 15, rootFields: 10, cost: 5000, defaultPageSize: 20, maxPageSize: 100, maxOffset: 1000 });
    expect(loadConfig({}).fairUse).toEqual({ perRequest: 2, userShare: 0.5, statementTimeoutMs: 30_000, requestTimeoutMs: 60_000, parallelWorkers: 0 });
    expect(problemsOf({ DB_MAX_USER_POOL_SHARE: "2" })).toEqual(["DB_MAX_USER_POOL_SHARE must be a number greater than 0 and at most 1 (such as 0.5)"]);
    expect(loadConfig({ DB_MAX_PARALLEL_WORKERS: "2" }).fairUse.parallelWorkers).toBe(2);
    expect(problemsOf({ DB_MAX_PARALLEL_WORKERS: "-1" })).toHaveLength(1);
    expect(problemsOf({ DB_MAX_PARALLEL_WORKERS: "-1" })[0]).toMatch(/^DB_MAX_PARALLEL_WORKERS /);
    expect(loadConfig({}).api.keepAliveTimeoutMs).toBe(65_000);
    expect(problemsOf({ API_KEEP_ALIVE_TIMEOUT: "soon" })[0]).toMatch(/^API_KEEP_ALIVE_TIMEOUT /);
    expect(problemsOf({ API_DEFAULT_PAGE_SIZE: "200" })).toEqual(["API_DEFAULT_PAGE_SIZE must not exceed API_MAX_PAGE_SIZE"]);
  });

  test("the API listens on PORT 5678 on loopback by default, on every interface in production", () => {
    expect(loadConfig({}).api).toMatchObject({ port: 5678, host: "127.0.0.1", maxBodyBytes: 100_000, shutdownTimeoutMs: 10_000, retryAfterSeconds: 5 });
    const production = loadConfig({ ENVIRONMENT: "production", PLATFORM_DATABASE_URL: PLATFORM, USER_DATA_DATABASE_URL: USER_DATA, CLERK_JWT_KEY: PEM, ...CLERK_CHECKS });
    expect(production.api.host).toBe("0.0.0.0");
  });

  test("a PEM key with literal \\n sequences (as env files carry it) is normalised", () => {
    expect(loadConfig({ CLERK_JWT_KEY: PEM.replace(/\n/g, "\\n") }).clerk.jwtKey).toBe(PEM);
  });

  test("Clerk settings are validated", () => {
    expect(problemsOf({ CLERK_JWT_KEY: "not a key" })).toEqual([expect.stringMatching(/^CLERK_JWT_KEY must be a PEM public key/)]);
    expect(problemsOf({ CLERK_AUTHORIZED_PARTIES: "https://a.example, ftp://b" })).toEqual([
      expect.stringMatching(/^CLERK_AUTHORIZED_PARTIES must be a comma-separated list of origins/),
    ]);
    expect(loadConfig({ CLERK_AUTHORIZED_PARTIES: "https://a.example, http://localhost:3000" }).clerk.authorizedParties).toEqual([
      "https://a.example",
      "http://localhost:3000",
    ]);
  });

  test("ADMIN_CLAIM is a dotted claim path and a value; unset, nobody is an admin through the API", () => {
    expect(loadConfig({}).clerk.adminClaim).toBeUndefined();
    expect(loadConfig({ ADMIN_CLAIM: "metadata.role=admin" }).clerk.adminClaim).toEqual({ path: ["metadata", "role"], value: "admin" });
    expect(problemsOf({ ADMIN_CLAIM: "role" })).toEqual([expect.stringMatching(/^ADMIN_CLAIM must be <claim path>=<value>/)]);
    expect(problemsOf({ ADMIN_CLAIM: "metadata..role=admin" })).toEqual([expect.stringMatching(/^ADMIN_CLAIM must be/)]);
  });

  test("USAGE_PARTITIONS_AHEAD defaults to 3 months and stays within 1..36", () => {
    expect(loadConfig({}).worker.usagePartitionsAhead).toBe(3);
    expect(problemsOf({ USAGE_PARTITIONS_AHEAD: "0" })).toEqual([expect.stringMatching(/^USAGE_PARTITIONS_AHEAD must be/)]);
  });

  test("IDEMPOTENCY_KEY_SWEEP_MINUTES defaults to 10 and stays within 1..30; the worker's crontab follows it", () => {
    expect(loadConfig({}).worker.idempotencySweepMinutes).toBe(10);
    expect(crontab({ idempotencySweepMinutes: loadConfig({ IDEMPOTENCY_KEY_SWEEP_MINUTES: "1" }).worker.idempotencySweepMinutes })).toContain("*/1 * * * * expire_idempotency_keys");
    for (const value of ["0", "31", "5m"]) {
      expect(problemsOf({ IDEMPOTENCY_KEY_SWEEP_MINUTES: value })).toEqual([expect.stringMatching(/^IDEMPOTENCY_KEY_SWEEP_MINUTES must be a whole number from 1 to 30/)]);
    }
  });

  test("IDEMPOTENCY_KEY_TTL defaults to 24 h; a malformed, too short or too long one is refused, naming the variable", () => {
    expect(loadConfig({}).api.idempotencyKeyTtlSeconds).toBe(86_400);
    expect(loadConfig({ IDEMPOTENCY_KEY_TTL: "3600" }).api.idempotencyKeyTtlSeconds).toBe(3600);
    for (const value of ["24h", "59", "2592001", "-1"]) {
      expect(problemsOf({ IDEMPOTENCY_KEY_TTL: value })).toEqual([expect.stringMatching(/^IDEMPOTENCY_KEY_TTL must be a whole number from 60 to 2592000/)]);
    }
  });

  test("Stripe settings: plan names and price ids are configuration, and every malformed value is named", () => {
    const billing = loadConfig({ STRIPE_PRICES: "Pro=price_123, Enterprise=price_456", STRIPE_API_BASE: "http://127.0.0.1:12111" }).billing;
    expect(billing.prices).toEqual({ Pro: "price_123", Enterprise: "price_456" });
    expect(billing.apiBase?.port).toBe("12111");
    expect(billing.secretKey).toBeUndefined();
    expect(billing.webhookSecret).toBeUndefined();
    expect(problemsOf({ STRIPE_PRICES: "Pro:price_123", STRIPE_SECRET_KEY: "pk_test_1", STRIPE_WEBHOOK_SECRET: "secret", STRIPE_API_BASE: "127.0.0.1:1", BILLING_RETURN_URL: "home" })).toEqual([
      expect.stringMatching(/^STRIPE_PRICES must be a comma-separated list of <plan name>=<price id>/),
      expect.stringMatching(/^STRIPE_API_BASE must be an http\(s\) URL/),
      expect.stringMatching(/^STRIPE_SECRET_KEY must be a Stripe secret key/),
      expect.stringMatching(/^STRIPE_WEBHOOK_SECRET must be the Stripe webhook endpoint's signing secret/),
      expect.stringMatching(/^BILLING_RETURN_URL must be an http\(s\) URL/),
    ]);
  });

  test("DATABASE_ECHO accepts the usual spellings", () => {
    expect(loadConfig({ DATABASE_ECHO: "TRUE" }).echo).toBe(true);
    expect(loadConfig({ DATABASE_ECHO: "0" }).echo).toBe(false);
  });

  test("DB_POOL_TIMEOUT is read in seconds", () => {
    expect(loadConfig({ DB_POOL_TIMEOUT: "2.5" }).pool.timeoutMs).toBe(2500);
  });
});

test("redactUrl hides the password", () => {
  expect(redactUrl(PLATFORM)).toBe("postgresql://api:***@db.example.com:5432/alwrity_platform");
  expect(redactUrl(PLATFORM)).not.toContain("s3cret");
});
