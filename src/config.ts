/**
 * Configuration is read and validated once, at start-up, into a typed object.
 * Every problem is reported at once, naming the variable and the form it must
 * take; values are never echoed back, since URLs carry passwords.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import proxyAddr from "proxy-addr";

export type Environment = "development" | "test" | "production";
export type PoolerMode = "session" | "transaction";
export const POOLER_MODES: readonly PoolerMode[] = ["session", "transaction"];
export type RateLimitStore = "memory" | "postgres";
export const RATE_LIMIT_STORES: readonly RateLimitStore[] = ["memory", "postgres"];

/** Where the two databases come from. */
export type DatabaseSource =
  /** Both URLs given: the databases exist already (provisioned by Pulumi or by hand). */
  | {
      kind: "urls";
      /** PLATFORM_DATABASE_URL: the platform database, as the API's login (the authenticator); set both database URLs or neither. */
      platformUrl: string;
      /** USER_DATA_DATABASE_URL: the user-data database, as the API's login; set both database URLs or neither. */
      userDataUrl: string;
      /** PLATFORM_MIGRATION_DATABASE_URL: the platform database as its owner, for migrations. */
      platformMigrationUrl?: string;
      /** USER_DATA_MIGRATION_DATABASE_URL: the user-data database as its owner, for migrations. */
      userDataMigrationUrl?: string;
    }
  /** An admin login to a server: the project provisions its databases and roles there. */
  | {
      kind: "admin";
      /** DATABASE_ADMIN_URL: a superuser login to a server where the project provisions its roles and databases itself (used when the two database URLs are not set). */
      adminUrl: string;
    }
  /** Nothing given, outside production: the project runs its own embedded PostgreSQL. */
  | {
      kind: "embedded";
      /** EMBEDDED_PG_DATA_DIR: the data directory of the embedded server (null: a throw-away one). */
      dataDir: string | null;
      /** EMBEDDED_PG_PORT: the port of the embedded server (0: any free port, as tests use). */
      port: number;
    };

export interface PoolSettings {
  /** DB_POOL_SIZE: connections kept ready. */
  size: number;
  /** DB_MAX_OVERFLOW: extra connections allowed under load. */
  maxOverflow: number;
  /** DB_POOL_TIMEOUT, in milliseconds: how long to wait for a free connection. */
  timeoutMs: number;
  /** DB_POOL_RECYCLE, in seconds: the longest a connection is kept (0 = for ever). */
  recycleSeconds: number;
}

/** Fair use of the pools: how much of them one request and one user may hold at once. */
export interface FairUseSettings {
  /** DB_MAX_CONNECTIONS_PER_REQUEST: connections one request may hold at once, per database. */
  perRequest: number;
  /** DB_MAX_USER_POOL_SHARE: the share (0..1] of a pool one user (or all anonymous callers) may hold at once; at least one connection. */
  userShare: number;
  /** DB_STATEMENT_TIMEOUT, in milliseconds: the longest one statement may run. */
  statementTimeoutMs: number;
  /** API_REQUEST_TIMEOUT, in milliseconds: a request's whole time budget; its statements are cancelled when it ends. */
  requestTimeoutMs: number;
  /**
   * DB_MAX_PARALLEL_WORKERS: max_parallel_workers_per_gather of every transaction. 0 by default:
   * a parallel plan lets one user's count take every core of the server (3 processes for
   * a 2-worker count, more CPU in all than the serial plan) while everyone else waits.
   */
  parallelWorkers: number;
}

/** The defaults of DB_MAX_CONNECTIONS_PER_REQUEST, DB_MAX_USER_POOL_SHARE, DB_STATEMENT_TIMEOUT, API_REQUEST_TIMEOUT and DB_MAX_PARALLEL_WORKERS. */
export const FAIR_USE_DEFAULTS: FairUseSettings = { perRequest: 2, userShare: 0.5, statementTimeoutMs: 30_000, requestTimeoutMs: 60_000, parallelWorkers: 0 };

/** What one GraphQL operation may ask for, checked before it runs. */
export interface OperationLimits {
  /** API_MAX_DEPTH: deepest selection nesting. */
  depth: number;
  /** API_MAX_ALIASES: aliased fields in one operation. */
  aliases: number;
  /** API_MAX_ROOT_FIELDS: fields at the top of one operation. */
  rootFields: number;
  /** API_MAX_COST: the estimated cost (fields, multiplied by the page sizes of the lists they are in). */
  cost: number;
  /** API_DEFAULT_PAGE_SIZE: rows a connection returns when neither first nor last is given. */
  defaultPageSize: number;
  /** API_MAX_PAGE_SIZE: the largest first/last a connection accepts. */
  maxPageSize: number;
  /** API_MAX_OFFSET: the largest `offset` of a connection; deeper pages are walked with cursors. */
  maxOffset: number;
}

/** Requests per client, answered with 429 and Retry-After when exceeded. */
export interface RateLimitSettings {
  /**
   * RATE_LIMIT_STORE: where the counts live: `memory` (the default: each process its own, so N processes
   * allow N times each limit; nothing to reach per request) or `postgres` (a table in the platform
   * database shared by every API process, one more transaction per count): set it when running several.
   */
  store: RateLimitStore;
  /** RATE_LIMIT_WINDOW, in seconds: the window the counts below are per. */
  windowSeconds: number;
  /** RATE_LIMIT_PER_USER: requests per window from one signed-in user. */
  perUser: number;
  /** RATE_LIMIT_PER_ADDRESS: requests per window from one client address. */
  perAddress: number;
  /** RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: new accounts per hour from one client address. */
  registrationsPerAddress: number;
  /** RATE_LIMIT_EXPORTS_PER_USER: exports (GET /export) per hour by one user; each reads everything they own. */
  exportsPerUser: number;
}

export interface ApiSettings {
  /** PORT: where the GraphQL API listens. */
  port: number;
  /** API_HOST: the interface it binds (loopback outside production). */
  host: string;
  /** API_MAX_BODY_BYTES: larger request bodies get HTTP 413. */
  maxBodyBytes: number;
  /** SHUTDOWN_TIMEOUT, in milliseconds: how long in-flight requests may finish after SIGTERM/SIGINT. */
  shutdownTimeoutMs: number;
  /**
   * API_KEEP_ALIVE_TIMEOUT, in milliseconds: how long an idle kept-alive connection stays open.
   * Longer than the idle timeout of whatever sits in front (load balancers keep 60 s), so the
   * server never closes a connection at the instant a client sends on it (ECONNRESET, 502).
   */
  keepAliveTimeoutMs: number;
  /** API_RETRY_AFTER, in seconds: the Retry-After of a 503 when a database is away or busy. */
  retryAfterSeconds: number;
  /** API_INTROSPECTION: whether schema introspection is answered (off in production unless set). */
  introspection: boolean;
  /** API_GRAPHIQL: whether the in-browser IDE is served (off in production unless set). */
  graphiql: boolean;
  /** API_TRUSTED_DOCUMENTS: a folder of `<sha256>.graphql` files; when set, only those operations run. */
  trustedDocumentsDir: string | undefined;
  /** API_EXPORT_TIMEOUT, in milliseconds: how long one export (GET /export) may take; then it is cut off. */
  exportTimeoutMs: number;
  /**
   * IDEMPOTENCY_KEY_TTL, in seconds (24 h by default): how long an Idempotency-Key and its stored
   * answer are kept; a retry after that runs afresh (docs/retries.md).
   */
  idempotencyKeyTtlSeconds: number;
  limits: OperationLimits;
  rateLimits: RateLimitSettings;
  /**
   * TRUSTED_PROXIES: addresses or CIDRs (comma-separated; also loopback, linklocal, uniquelocal) of the
   * load balancers in front: X-Forwarded-For is read from the right, skipping these, to find the client
   * address the per-address limits count. Empty (the default): the TCP peer is the client, the header ignored.
   */
  trustedProxies: string[];
}

/** What a Clerk webhook signing secret looks like; the Pulumi program checks its stack setting against the same. */
export const CLERK_WEBHOOK_SECRET_FORM = {
  pattern: /^whsec_[A-Za-z0-9+/]+=*$/,
  description: "the webhook endpoint's signing secret as Clerk shows it (whsec_…)",
} as const;

export interface ClerkSettings {
  /** CLERK_JWT_KEY: the instance's PEM public key, for networkless verification. */
  jwtKey: string | undefined;
  /** CLERK_SECRET_KEY: lets the SDK fetch the instance's JWKS instead. */
  secretKey: string | undefined;
  /** CLERK_AUTHORIZED_PARTIES: origins allowed in the token's azp claim (comma-separated). */
  authorizedParties: string[];
  /** CLERK_ISSUER: the expected iss claim (the instance's Frontend API URL). */
  issuer: string | undefined;
  /** CLERK_MAX_TOKEN_LIFETIME, in seconds: tokens valid for longer (exp - iat) are refused. */
  maxTokenLifetimeSeconds: number;
  /** CLERK_WEBHOOK_SECRET: the signing secret of the Clerk webhook endpoint (whsec_…); without it /webhooks/clerk answers 404. */
  webhookSecret: string | undefined;
  /**
   * ADMIN_CLAIM (`<claim path>=<value>`, e.g. metadata.role=admin): a verified session token
   * whose claim at that dotted path equals the value is a platform admin's (the admin
   * analytics). Unset: nobody is an admin through the API.
   */
  adminClaim: AdminClaim | undefined;
}

export interface AdminClaim {
  /** The claim's path in the token's payload, e.g. ["metadata", "role"]. */
  readonly path: readonly string[];
  readonly value: string;
}

/** Stripe billing: checkout, the billing portal and the webhook. */
export interface BillingSettings {
  /** STRIPE_SECRET_KEY: the API key (sk_test_…, sk_live_… or a restricted rk_…); without it /billing/* answers 404. */
  secretKey: string | undefined;
  /** STRIPE_WEBHOOK_SECRET: the webhook endpoint's signing secret (whsec_…); without it /webhooks/stripe answers 404. */
  webhookSecret: string | undefined;
  /** STRIPE_PRICES: plan name → Stripe price id, as `Pro=price_123,Enterprise=price_456`. */
  prices: Readonly<Record<string, string>>;
  /** STRIPE_API_BASE: where the Stripe API is reached (a local fake or stripe-mock in tests and development); Stripe's own by default. */
  apiBase: URL | undefined;
  /** BILLING_SUCCESS_URL: where checkout sends the user after paying. */
  successUrl: string;
  /** BILLING_CANCEL_URL: where checkout sends the user who gives up. */
  cancelUrl: string;
  /** BILLING_RETURN_URL: where the billing portal sends the user back to. */
  returnUrl: string;
}

export interface WorkerSettings {
  /** WORKER_IN_PROCESS: whether `npm start` runs the job worker beside the API (production may run `alwrity worker` apart). */
  inProcess: boolean;
  /** USAGE_PARTITIONS_AHEAD: months of usage-log partitions the daily ensure_usage_partitions job keeps ready beyond this one. */
  usagePartitionsAhead: number;
  /** IDEMPOTENCY_KEY_SWEEP_MINUTES: the worker deletes expired idempotency keys at every minute divisible by this (UTC). */
  idempotencySweepMinutes: number;
}

/** METRICS: who may read `/metrics`: `off`; `open` (refused in production); `token` (needs METRICS_TOKEN); `port` (only on METRICS_PORT). */
export type MetricsAccess =
  | { kind: "off" }
  /** On the API's port, to anyone who can reach it (development and tests). */
  | { kind: "open" }
  /** On the API's port, with `Authorization: Bearer <METRICS_TOKEN>`. */
  | {
      kind: "token";
      /** METRICS_TOKEN: with METRICS=token, the bearer token Prometheus sends. */
      token: string;
    }
  /** Only on a port of its own (METRICS_PORT, on METRICS_HOST), which the network keeps private. */
  | {
      kind: "port";
      /** METRICS_PORT: with METRICS=port, the port serving `/metrics` alone. */
      port: number;
      /** METRICS_HOST: with METRICS=port, the interface that port binds. */
      host: string;
    };

export interface ObservabilitySettings {
  metrics: MetricsAccess;
  /** SLOW_OPERATION_MS: GraphQL operations taking at least this long are logged (slow_operation). */
  slowOperationMs: number;
  /** SLOW_STATEMENT_MS: SQL statements taking at least this long are logged (slow_statement). */
  slowStatementMs: number;
}

export interface Config {
  /** ENVIRONMENT: `development` (the embedded server, development sign-in tokens, GraphiQL), `test`, or `production` (needs both database URLs and Clerk's issuer and authorized parties; no introspection, no GraphiQL, no open metrics). */
  environment: Environment;
  /**
   * Where the databases come from, in this order: both PLATFORM_DATABASE_URL and
   * USER_DATA_DATABASE_URL (used as they are), else DATABASE_ADMIN_URL (the project
   * provisions there), else outside production the embedded server.
   */
  source: DatabaseSource;
  /** DATABASE_ENV_PREFIX: prefixes database and role names, so stacks can share a server. */
  envPrefix: string;
  pool: PoolSettings;
  fairUse: FairUseSettings;
  /** DATABASE_ECHO: log each statement with its duration. */
  echo: boolean;
  /**
   * DATABASE_POOLER_MODE: `transaction` when the URLs point at a pooler in transaction
   * mode (PgBouncer): no session-level settings, and prepared statements are tracked per
   * server connection (src/db/server-statements.ts).
   */
  poolerMode: PoolerMode;
  /**
   * DATABASE_LISTEN_URL: a direct connection (no pooler in transaction mode) to the platform database
   * as the API's login, for LISTEN (account revocations): behind such a pooler LISTEN hears nothing,
   * so without it no account is cached. Unset: the platform URL, unless DATABASE_POOLER_MODE=transaction.
   */
  listenUrl: string | undefined;
  api: ApiSettings;
  clerk: ClerkSettings;
  billing: BillingSettings;
  observability: ObservabilitySettings;
  worker: WorkerSettings;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** The checkout's root folder, for defaults that live inside it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

type Env = Record<string, string | undefined>;

/** A variable as the configuration reads it: its default (as text; "" for none) and the form a value must take. */
export interface SettingRead {
  readonly name: string;
  readonly fallback: string;
  readonly form: string;
}

/**
 * Every variable loadConfig reads, in the order it reads them, with defaults
 * as they are for `env` (development unless it says otherwise): what the
 * configuration reference (generated/configuration.md) is made from.
 */
export function settingsRead(env: Env = {}): SettingRead[] {
  const seen = new Map<string, SettingRead>();
  try {
    loadConfig(env, (setting) => seen.set(setting.name, seen.get(setting.name) ?? setting));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  return [...seen.values()];
}

export function loadConfig(env: Env = process.env, record?: (setting: SettingRead) => void): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems, record);

  const environment = read.oneOf("ENVIRONMENT", ["development", "test", "production"] as const, "development");
  const platformUrl = read.postgresUrl("PLATFORM_DATABASE_URL");
  const userDataUrl = read.postgresUrl("USER_DATA_DATABASE_URL");
  const platformMigrationUrl = read.postgresUrl("PLATFORM_MIGRATION_DATABASE_URL");
  const userDataMigrationUrl = read.postgresUrl("USER_DATA_MIGRATION_DATABASE_URL");
  const adminUrl = read.postgresUrl("DATABASE_ADMIN_URL");
  const envPrefix = read.matching("DATABASE_ENV_PREFIX", /^([a-z][a-z0-9_]{0,19})?$/, "", "a lowercase identifier of at most 20 characters (letters, digits, _) starting with a letter, or empty");
  const pool: PoolSettings = {
    size: read.integer("DB_POOL_SIZE", 20, 1),
    maxOverflow: read.integer("DB_MAX_OVERFLOW", 30, 0),
    timeoutMs: read.seconds("DB_POOL_TIMEOUT", 30) * 1000,
    recycleSeconds: read.integer("DB_POOL_RECYCLE", 3600, 0),
  };
  const fairUse: FairUseSettings = {
    perRequest: read.integer("DB_MAX_CONNECTIONS_PER_REQUEST", FAIR_USE_DEFAULTS.perRequest, 1),
    userShare: read.fraction("DB_MAX_USER_POOL_SHARE", FAIR_USE_DEFAULTS.userShare),
    statementTimeoutMs: read.seconds("DB_STATEMENT_TIMEOUT", FAIR_USE_DEFAULTS.statementTimeoutMs / 1000) * 1000,
    requestTimeoutMs: read.seconds("API_REQUEST_TIMEOUT", FAIR_USE_DEFAULTS.requestTimeoutMs / 1000) * 1000,
    parallelWorkers: read.integer("DB_MAX_PARALLEL_WORKERS", FAIR_USE_DEFAULTS.parallelWorkers, 0, 64),
  };
  const echo = read.boolean("DATABASE_ECHO", false);
  const poolerMode = read.oneOf("DATABASE_POOLER_MODE", POOLER_MODES, "session");
  const listenUrl = read.postgresUrl("DATABASE_LISTEN_URL");
  const dataDirRaw = read.raw("EMBEDDED_PG_DATA_DIR", "a folder, relative to the checkout or absolute", ".data/postgres (development); a throw-away folder (test)");
  const port = read.integer("EMBEDDED_PG_PORT", environment === "test" ? 0 : 54329, 0, 65535);

  const api: ApiSettings = {
    port: read.integer("PORT", 5678, 0, 65535),
    host: read.matching("API_HOST", /^[\w.:-]+$/, environment === "production" ? "0.0.0.0" : "127.0.0.1", "a host name or IP address"),
    maxBodyBytes: read.integer("API_MAX_BODY_BYTES", 100_000, 1_000),
    shutdownTimeoutMs: read.seconds("SHUTDOWN_TIMEOUT", 10) * 1000,
    keepAliveTimeoutMs: read.seconds("API_KEEP_ALIVE_TIMEOUT", 65) * 1000,
    retryAfterSeconds: read.integer("API_RETRY_AFTER", 5, 1, 3600),
    introspection: read.boolean("API_INTROSPECTION", environment !== "production"),
    graphiql: read.boolean("API_GRAPHIQL", environment !== "production"),
    trustedDocumentsDir: trustedDocuments(read.raw("API_TRUSTED_DOCUMENTS", "a folder of <sha256>.graphql files")),
    exportTimeoutMs: read.seconds("API_EXPORT_TIMEOUT", 600) * 1000,
    // At least a minute (a retry must find its key), at most 30 days (keys hold answers, which hold users' data).
    idempotencyKeyTtlSeconds: read.integer("IDEMPOTENCY_KEY_TTL", 86_400, 60, 30 * 86_400),
    limits: {
      depth: read.integer("API_MAX_DEPTH", 10, 1),
      aliases: read.integer("API_MAX_ALIASES", 15, 0),
      rootFields: read.integer("API_MAX_ROOT_FIELDS", 10, 1),
      cost: read.integer("API_MAX_COST", 5000, 1),
      defaultPageSize: read.integer("API_DEFAULT_PAGE_SIZE", 20, 1),
      maxPageSize: read.integer("API_MAX_PAGE_SIZE", 100, 1),
      maxOffset: read.integer("API_MAX_OFFSET", 1000, 0),
    },
    rateLimits: {
      store: read.oneOf("RATE_LIMIT_STORE", RATE_LIMIT_STORES, "memory"),
      windowSeconds: read.integer("RATE_LIMIT_WINDOW", 60, 1),
      perUser: read.integer("RATE_LIMIT_PER_USER", 600, 1),
      perAddress: read.integer("RATE_LIMIT_PER_ADDRESS", 1200, 1),
      registrationsPerAddress: read.integer("RATE_LIMIT_REGISTRATIONS_PER_ADDRESS", 30, 1),
      exportsPerUser: read.integer("RATE_LIMIT_EXPORTS_PER_USER", 10, 1),
    },
    trustedProxies: read.proxies("TRUSTED_PROXIES"),
  };
  if (api.limits.defaultPageSize > api.limits.maxPageSize) problems.push("API_DEFAULT_PAGE_SIZE must not exceed API_MAX_PAGE_SIZE");
  if (api.trustedDocumentsDir) {
    const documents = trustedDocumentsProblem(api.trustedDocumentsDir);
    if (documents) problems.push(`API_TRUSTED_DOCUMENTS: ${documents}`);
  }
  const clerk: ClerkSettings = {
    jwtKey: read.pem("CLERK_JWT_KEY"),
    secretKey: read.matching("CLERK_SECRET_KEY", /^sk_(test|live)_\S+$/, "", "a Clerk secret key (sk_test_… or sk_live_…)") || undefined,
    authorizedParties: read.list("CLERK_AUTHORIZED_PARTIES", /^https?:\/\/[^\s/]+$/, "a comma-separated list of origins such as https://app.example.com"),
    issuer: read.matching("CLERK_ISSUER", /^https:\/\/\S+$/, "", "the https URL of the Clerk instance (the tokens' iss claim)") || undefined,
    maxTokenLifetimeSeconds: read.integer("CLERK_MAX_TOKEN_LIFETIME", 86_400, 1),
    webhookSecret: read.matching("CLERK_WEBHOOK_SECRET", CLERK_WEBHOOK_SECRET_FORM.pattern, "", CLERK_WEBHOOK_SECRET_FORM.description) || undefined,
    adminClaim: parseAdminClaim(
      read.matching("ADMIN_CLAIM", /^([A-Za-z_][\w-]*)(\.[A-Za-z_][\w-]*)*=\S+$/, "", "<claim path>=<value>, such as metadata.role=admin (a dotted path into the session token's claims)"),
    ),
  };
  const worker: WorkerSettings = {
    inProcess: read.boolean("WORKER_IN_PROCESS", true),
    usagePartitionsAhead: read.integer("USAGE_PARTITIONS_AHEAD", 3, 1, 36),
    idempotencySweepMinutes: read.integer("IDEMPOTENCY_KEY_SWEEP_MINUTES", 10, 1, 30),
  };
  const billing = readBilling(read, problems);
  const observability = readObservability(read, environment, problems);
  if (environment === "production") {
    const missing = [!clerk.issuer && "CLERK_ISSUER", !clerk.authorizedParties.length && "CLERK_AUTHORIZED_PARTIES"].filter(Boolean);
    if (missing.length) {
      problems.push(`ENVIRONMENT=production needs ${missing.join(" and ")}: otherwise tokens of any Clerk instance, presented by any site, would be accepted`);
    }
  }
  if (environment === "production" && !clerk.jwtKey && !clerk.secretKey) {
    problems.push("ENVIRONMENT=production needs CLERK_JWT_KEY (the instance's PEM public key) or CLERK_SECRET_KEY, or nobody can sign in");
  }

  let source: DatabaseSource | undefined;
  // Presence, not validity, decides the pairing; a malformed URL was reported above.
  const given = ["PLATFORM_DATABASE_URL", "USER_DATA_DATABASE_URL"].filter((name) => read.present(name));
  if (given.length === 1) {
    const missing = given[0] === "PLATFORM_DATABASE_URL" ? "USER_DATA_DATABASE_URL" : "PLATFORM_DATABASE_URL";
    problems.push(
      `${given[0]} is set but ${missing} is not: the platform needs both databases; set both URLs, or neither to use the embedded database`,
    );
  } else if (given.length === 2) {
    if (platformUrl && userDataUrl) source = { kind: "urls", platformUrl, userDataUrl, platformMigrationUrl, userDataMigrationUrl };
  } else if (adminUrl) {
    source = { kind: "admin", adminUrl };
  } else if (environment === "production") {
    problems.push(
      "ENVIRONMENT=production needs PLATFORM_DATABASE_URL and USER_DATA_DATABASE_URL (postgresql://user:password@host:port/database); the embedded database is for development and tests only",
    );
  } else {
    const dataDir =
      dataDirRaw !== undefined
        ? path.resolve(PROJECT_ROOT, dataDirRaw)
        : environment === "test"
          ? null // a throw-away directory per run
          : path.join(PROJECT_ROOT, ".data", "postgres");
    source = { kind: "embedded", dataDir, port };
  }

  if (problems.length > 0 || !source) throw new ConfigError(problems);
  return { environment, source, envPrefix, pool, fairUse, echo, poolerMode, listenUrl, api, clerk, billing, observability, worker };
}

function readBilling(read: Reader, problems: string[]): BillingSettings {
  const prices: Record<string, string> = {};
  const rawPrices = read.raw("STRIPE_PRICES", "<plan name>=<price id>, comma-separated");
  for (const pair of rawPrices ? rawPrices.split(",").map((p) => p.trim()).filter(Boolean) : []) {
    const match = /^([A-Za-z][A-Za-z0-9 ]{0,49})=(price_[A-Za-z0-9]+)$/.exec(pair);
    if (!match) {
      problems.push(`STRIPE_PRICES must be a comma-separated list of <plan name>=<price id>, such as Pro=price_123,Enterprise=price_456 (not "${pair.slice(0, 60)}")`);
      continue;
    }
    prices[match[1]!.trim()] = match[2]!;
  }
  const apiBaseRaw = read.matching("STRIPE_API_BASE", /^https?:\/\/[^\s/]+\/?$/, "", "an http(s) URL of a host and port only, such as http://127.0.0.1:12111");
  const url = (name: string, fallback: string) =>
    read.matching(name, /^https?:\/\/\S+$/, fallback, "an http(s) URL the browser is sent to");
  return {
    secretKey: read.matching("STRIPE_SECRET_KEY", /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, "", "a Stripe secret key (sk_test_…, sk_live_… or rk_…)") || undefined,
    webhookSecret: read.matching("STRIPE_WEBHOOK_SECRET", /^whsec_[A-Za-z0-9]+$/, "", "the Stripe webhook endpoint's signing secret (whsec_…)") || undefined,
    prices,
    apiBase: apiBaseRaw ? new URL(apiBaseRaw) : undefined,
    successUrl: url("BILLING_SUCCESS_URL", "http://localhost:3000/billing/success"),
    cancelUrl: url("BILLING_CANCEL_URL", "http://localhost:3000/billing/cancel"),
    returnUrl: url("BILLING_RETURN_URL", "http://localhost:3000/account"),
  };
}

function parseAdminClaim(text: string): AdminClaim | undefined {
  if (!text) return undefined;
  const at = text.indexOf("=");
  return { path: text.slice(0, at).split("."), value: text.slice(at + 1) };
}

function readObservability(read: Reader, environment: Environment, problems: string[]): ObservabilitySettings {
  // Metrics show internals (operation names, pool sizes, error rates): open only outside production.
  const kind = read.oneOf("METRICS", ["off", "open", "token", "port"] as const, environment === "production" ? "off" : "open");
  const token = read.matching("METRICS_TOKEN", /^\S{32,}$/, "", "at least 32 characters without spaces (for example `openssl rand -hex 32`)");
  const port = read.integer("METRICS_PORT", 0, 1, 65535);
  const host = read.matching("METRICS_HOST", /^[\w.:-]+$/, "127.0.0.1", "a host name or IP address");
  let metrics: MetricsAccess = { kind: "off" };
  if (kind === "open" && environment === "production") problems.push("METRICS=open is refused in production: use METRICS=token (with METRICS_TOKEN) or METRICS=port (with METRICS_PORT), or off");
  else if (kind === "open") metrics = { kind: "open" };
  else if (kind === "token" && !token) problems.push("METRICS=token needs METRICS_TOKEN (at least 32 characters)");
  else if (kind === "token") metrics = { kind: "token", token };
  else if (kind === "port" && !port) problems.push("METRICS=port needs METRICS_PORT (a port other than the API's)");
  else if (kind === "port") metrics = { kind: "port", port, host };
  return {
    metrics,
    slowOperationMs: read.integer("SLOW_OPERATION_MS", 1000, 0),
    slowStatementMs: read.integer("SLOW_STATEMENT_MS", 250, 0),
  };
}

/**
 * Reads variables, collecting problems instead of stopping at the first one.
 * Each read tells `record` the variable's name, default and form, so the
 * reference documentation is made from the reads themselves.
 */
class Reader {
  private readonly env: Env;
  private readonly problems: string[];
  private readonly record: ((setting: SettingRead) => void) | undefined;
  constructor(env: Env, problems: string[], record?: (setting: SettingRead) => void) {
    this.env = env;
    this.problems = problems;
    this.record = record;
  }

  /** The value as given (trimmed; empty counts as unset), with no check of its form. */
  raw(name: string, form = "text", fallback = ""): string | undefined {
    this.record?.({ name, fallback, form });
    return this.given(name);
  }

  /** Whether the variable is set at all (the variable is read, and recorded, elsewhere). */
  present(name: string): boolean {
    return this.given(name) !== undefined;
  }

  private given(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === "" ? undefined : value;
  }

  private read(name: string, fallback: unknown, form: string): string | undefined {
    this.record?.({ name, fallback: fallback === undefined ? "" : String(fallback), form });
    return this.given(name);
  }

  private fail<T>(name: string, expected: string, fallback: T): T {
    this.problems.push(`${name} must be ${expected}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.read(name, fallback, `one of ${allowed.join(", ")}`);
    if (value === undefined) return fallback;
    return (allowed as readonly string[]).includes(value)
      ? (value as T)
      : this.fail(name, `one of ${allowed.join(", ")}`, fallback);
  }

  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.read(name, fallback, `a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`);
    if (value === undefined) return fallback;
    const n = Number(value);
    return /^\d+$/.test(value) && n >= min && n <= max
      ? n
      : this.fail(name, `a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`, fallback);
  }

  seconds(name: string, fallback: number): number {
    const value = this.read(name, fallback, "seconds (greater than 0)");
    if (value === undefined) return fallback;
    const n = Number(value);
    return /^\d+(\.\d+)?$/.test(value) && n > 0 ? n : this.fail(name, "a number of seconds greater than 0", fallback);
  }

  /** A share greater than 0 and at most 1. */
  fraction(name: string, fallback: number): number {
    const value = this.read(name, fallback, "a share greater than 0 and at most 1");
    if (value === undefined) return fallback;
    const n = Number(value);
    return /^(0?\.\d+|1(\.0+)?)$/.test(value) && n > 0 && n <= 1 ? n : this.fail(name, "a number greater than 0 and at most 1 (such as 0.5)", fallback);
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.read(name, fallback, "true or false")?.toLowerCase();
    if (value === undefined) return fallback;
    if (["true", "1", "yes", "on"].includes(value)) return true;
    if (["false", "0", "no", "off"].includes(value)) return false;
    return this.fail(name, "true or false", fallback);
  }

  matching(name: string, form: RegExp, fallback: string, expected: string): string {
    const value = this.read(name, fallback, expected);
    if (value === undefined) return fallback;
    return form.test(value) ? value : this.fail(name, expected, fallback);
  }

  /** A PEM public key; literal "\n" sequences (common in env files) become newlines. */
  pem(name: string): string | undefined {
    const value = this.read(name, undefined, "a PEM public key")?.replace(/\\n/g, "\n");
    if (value === undefined) return undefined;
    return /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\s*$/.test(value)
      ? value
      : this.fail(name, "a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)", undefined);
  }

  list(name: string, item: RegExp, expected: string): string[] {
    const value = this.read(name, undefined, expected);
    if (value === undefined) return [];
    const items = value.split(",").map((v) => v.trim()).filter(Boolean);
    return items.every((v) => item.test(v)) ? items : this.fail(name, expected, []);
  }

  /** Addresses and CIDRs as proxy-addr (Express's `trust proxy`) takes them; each checked by compiling it. */
  proxies(name: string): string[] {
    const expected = "a comma-separated list of IP addresses or CIDRs (such as 10.0.0.0/8, ::1), or loopback, linklocal, uniquelocal";
    const value = this.read(name, undefined, expected);
    if (value === undefined) return [];
    const items = value.split(",").map((v) => v.trim()).filter(Boolean);
    const bad = items.filter((item) => {
      try {
        proxyAddr.compile(item);
        return false;
      } catch {
        return true;
      }
    });
    return bad.length === 0 ? items : this.fail(name, `${expected} (not ${bad.map((b) => JSON.stringify(b.slice(0, 60))).join(", ")})`, []);
  }

  postgresUrl(name: string): string | undefined {
    const value = this.read(name, undefined, "postgresql://user:password@host:port/database");
    if (value === undefined) return undefined;
    const expected = "a URL of the form postgresql://user:password@host:port/database";
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.fail(name, expected, undefined);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (!["postgres:", "postgresql:"].includes(url.protocol) || !url.hostname || !database) {
      return this.fail(name, expected, undefined);
    }
    return value;
  }
}

/**
 * The same configuration, but where it would use the development data
 * directory, a throw-away embedded server instead: generators build from the
 * committed migrations alone, and never clash with a running `npm start`.
 */
export function withThrowAwayEmbedded(config: Config): Config {
  return config.source.kind === "embedded" ? { ...config, source: { kind: "embedded", dataDir: null, port: 0 } } : config;
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

function trustedDocuments(folder: string | undefined): string | undefined {
  return folder === undefined ? undefined : path.resolve(PROJECT_ROOT, folder);
}

/** Why a trusted-documents folder cannot serve (an empty one would refuse every request), if it cannot. */
function trustedDocumentsProblem(folder: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    return `${folder} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); it must be a folder of <sha256>.graphql files`;
  }
  return names.some((name) => /^[0-9a-f]{64}\.graphql$/.test(name)) ? undefined : `${folder} holds no <sha256>.graphql file, so every operation would be refused`;
}
