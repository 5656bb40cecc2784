/**
 * The stack configuration, read once into a typed object. Every key lives in
 * the project's namespace (`alwrity-data-platform:<key>`), as `pulumi config
 * set <key> …` writes it; the explicit provider below ignores the
 * `postgresql:*` keys, so the connection is configured here and nowhere else.
 */
import * as pulumi from "@pulumi/pulumi";
import { CLERK_WEBHOOK_SECRET_FORM, POOLER_MODES, type PoolerMode } from "../src/config.ts";

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Stacks whose databases must survive `pulumi destroy` and accidental removal. */
const PROTECTED_STACKS = ["production", "prod"];

export interface StackSettings {
  /** The server Pulumi administers, as its admin login reaches it. */
  readonly host: string;
  readonly port: number;
  readonly adminUser: string;
  readonly adminPassword: pulumi.Output<string>;
  /** The database the admin login connects to (managed services name theirs). */
  readonly adminDatabase: string;
  readonly sslmode: SslMode;
  /** false on managed services (Supabase, RDS, Render…) whose admin is not a superuser. */
  readonly superuser: boolean;
  /** DATABASE_ENV_PREFIX of this environment ("" for none); lets stacks share a server. */
  readonly envPrefix: string;
  /** Protect the databases and roles from deletion (default: on for the production stack). */
  readonly protect: boolean;
  /** Where the app connects, when that differs from the admin endpoint (a pooler, say). */
  readonly appHost: string;
  readonly appPort: number;
  /** sslmode written into the app's URLs. */
  readonly appSslmode: SslMode;
  /**
   * `transaction` when appHost/appPort is a pooler in transaction mode (PgBouncer, Supabase's
   * port 6543): the stack then tells the app, through DATABASE_POOLER_MODE, to keep no
   * session state and use no named prepared statements.
   */
  readonly appPoolerMode: PoolerMode;
  /**
   * The signing secret of the API's Clerk webhook endpoint (whsec_…), kept encrypted in the
   * stack and handed to the API as the secret output CLERK_WEBHOOK_SECRET; absent when the
   * deployment takes no webhooks.
   */
  readonly clerkWebhookSecret: pulumi.Output<string> | undefined;
}

const KEYS = [
  "host",
  "port",
  "adminUser",
  "adminPassword",
  "adminDatabase",
  "sslmode",
  "superuser",
  "envPrefix",
  "protect",
  "appHost",
  "appPort",
  "appSslmode",
  "appPoolerMode",
  "clerkWebhookSecret",
] as const;

export function readSettings(): StackSettings {
  const config = new pulumi.Config();
  // A misspelt key (`sslMode`, `prefix`) would otherwise be ignored in silence and its default used.
  const namespace = `${config.name}:`;
  const unknown = Object.keys(pulumi.runtime.allConfig())
    .filter((key) => key.startsWith(namespace))
    .map((key) => key.slice(namespace.length))
    .filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new Error(`Unknown configuration key(s) ${unknown.join(", ")}; the program reads ${KEYS.join(", ")}`);
  }
  const host = config.require("host");
  const port = config.getNumber("port") ?? 5432;
  const sslmode = config.get<SslMode>("sslmode", { allowedValues: [...SSL_MODES] }) ?? "require";
  // Checked in the clear here, at preview time, rather than inside the secret output, where a
  // mistake would only surface once the app refused the value at start-up.
  const webhookSecret = pulumi.runtime.allConfig()[`${namespace}clerkWebhookSecret`];
  if (webhookSecret !== undefined && !CLERK_WEBHOOK_SECRET_FORM.pattern.test(webhookSecret)) {
    throw new Error(`Configuration key clerkWebhookSecret must be ${CLERK_WEBHOOK_SECRET_FORM.description}; set it with pulumi config set --secret clerkWebhookSecret`);
  }
  return {
    host,
    port,
    adminUser: config.get("adminUser") ?? "postgres",
    adminPassword: config.requireSecret("adminPassword"),
    adminDatabase: config.get("adminDatabase") ?? "postgres",
    sslmode,
    superuser: config.getBoolean("superuser") ?? true,
    envPrefix: config.get("envPrefix") ?? "",
    protect: config.getBoolean("protect") ?? PROTECTED_STACKS.includes(pulumi.getStack()),
    appHost: config.get("appHost") ?? host,
    appPort: config.getNumber("appPort") ?? port,
    appSslmode: config.get<SslMode>("appSslmode", { allowedValues: [...SSL_MODES] }) ?? sslmode,
    appPoolerMode: config.get<PoolerMode>("appPoolerMode", { allowedValues: [...POOLER_MODES] }) ?? "session",
    // getSecret: secret in every output it reaches, even if it was set without --secret.
    clerkWebhookSecret: config.getSecret("clerkWebhookSecret"),
  };
}
