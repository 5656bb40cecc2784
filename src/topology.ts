/**
 * The one description of what a deployment consists of: two databases and the
 * cluster-wide roles they share. Local provisioning (src/provision) and the
 * Pulumi program (infra/) both read this module, so the two cannot drift apart;
 * migrations receive the role names through graphile-migrate placeholders.
 */

export type RoleKey = "owner" | "authenticator" | "authenticated" | "anonymous" | "platformAdmin" | "worker";
export type DatabaseKey = "platform" | "userData";

export interface RoleSpec {
  readonly key: RoleKey;
  /** Name without the environment prefix. */
  readonly baseName: string;
  readonly login: boolean;
  /** false means NOINHERIT: the role holds no rights until it switches role. */
  readonly inherit: boolean;
  readonly bypassRls: boolean;
  /** Why this role may bypass row-level security; required when bypassRls is true. */
  readonly bypassRlsReason?: string;
  /**
   * statement_timeout for the role's sessions, in milliseconds. Role settings
   * apply to the login role of a session (not after SET ROLE), so the API's
   * limit is set on the authenticator.
   */
  readonly statementTimeoutMs?: number;
  /** Roles this role is a member of (may SET ROLE to). */
  readonly memberOf: readonly RoleKey[];
  /** The graphile-migrate placeholder that carries the name into migrations. */
  readonly placeholder: string;
  readonly purpose: string;
}

export interface DatabaseSpec {
  readonly key: DatabaseKey;
  readonly baseName: string;
  readonly owner: RoleKey;
  /** Login roles allowed to CONNECT; PUBLIC loses CONNECT and TEMPORARY. */
  readonly connect: readonly RoleKey[];
  /**
   * Extensions the migrations need, created by whoever provisions the server
   * (creating most extensions needs more rights than the owner has). The
   * migrations use only core features (gen_random_uuid is core);
   * pg_stat_statements is for operators (`alwrity db top`), and needs the
   * server's shared_preload_libraries to collect anything.
   */
  readonly extensions: readonly string[];
  /**
   * The folder name of everything that belongs to this database:
   * db/<folder>/migrations (graphile-migrate), db/<folder>/queries (pgtyped),
   * generated/<folder>/, test/db/<folder>/; also its name on the command line
   * (npm run db:commit -- <folder>).
   */
  readonly folder: string;
  /** The schema the GraphQL API exposes (PostGraphile introspects this one only). */
  readonly schema: string;
  /** The graphile-migrate configuration file for this database. */
  readonly migrateConfig: string;
  readonly purpose: string;
}

export const ROLE_SPECS: readonly RoleSpec[] = [
  {
    key: "owner",
    baseName: "alwrity_owner",
    login: true,
    inherit: true,
    bypassRls: true,
    bypassRlsReason:
      "runs migrations, which must see every tenant's rows to backfill or reshape data; never used by the API or by services",
    memberOf: [],
    placeholder: ":DATABASE_OWNER",
    purpose: "owns every schema object and runs migrations",
  },
  {
    key: "authenticator",
    baseName: "alwrity_authenticator",
    login: true,
    inherit: false,
    bypassRls: false,
    statementTimeoutMs: 30_000,
    memberOf: ["authenticated", "anonymous", "platformAdmin", "worker"],
    placeholder: ":DATABASE_AUTHENTICATOR",
    purpose: "the login the API and services connect as; holds no rights until it switches role per transaction",
  },
  {
    key: "authenticated",
    baseName: "authenticated_users",
    login: false,
    inherit: true,
    bypassRls: false,
    memberOf: [],
    placeholder: ":DATABASE_AUTHENTICATED",
    purpose: "the rights of a signed-in user, limited to their own rows by row-level security",
  },
  {
    key: "anonymous",
    baseName: "alwrity_anonymous",
    login: false,
    inherit: true,
    bypassRls: false,
    memberOf: [],
    placeholder: ":DATABASE_ANONYMOUS",
    purpose: "requests without a signed-in user: may read the subscription plans and nothing else",
  },
  {
    key: "platformAdmin",
    baseName: "alwrity_platform_admin",
    login: false,
    inherit: true,
    bypassRls: false,
    memberOf: [],
    placeholder: ":DATABASE_PLATFORM_ADMIN",
    purpose:
      "trusted platform operations: cross-user analytics, registering users, recording usage, changing plans; no access to users' content",
  },
  {
    key: "worker",
    baseName: "alwrity_worker",
    login: false,
    inherit: true,
    bypassRls: false,
    memberOf: [],
    placeholder: ":DATABASE_WORKER",
    purpose:
      "the job queue's own connections (graphile-worker): takes, completes and fails jobs in the graphile_worker schema; in the user-data database it may only call the worker's backend functions (user_data_backend: entitlements); other jobs reach the data as the user or the platform admin, like any service",
  },
];

export const DATABASE_SPECS: readonly DatabaseSpec[] = [
  {
    key: "platform",
    baseName: "alwrity_platform",
    owner: "owner",
    connect: ["owner", "authenticator"],
    extensions: ["pg_stat_statements"],
    folder: "platform",
    schema: "platform",
    migrateConfig: ".gmrc",
    purpose: "users, subscription plans, subscriptions and usage logs",
  },
  {
    key: "userData",
    baseName: "alwrity_user_data",
    owner: "owner",
    connect: ["owner", "authenticator"],
    extensions: ["pg_stat_statements"],
    folder: "user_data",
    schema: "user_data",
    migrateConfig: ".gmrc.user_data",
    purpose: "each user's profile, projects, content assets and personas, isolated by row-level security",
  },
];

/**
 * graphile-worker's schema in the platform database: the job queue, installed
 * by src/bootstrap/job-queue.ts, used by the worker and read for the queue's
 * metrics.
 */
export const JOB_QUEUE_SCHEMA = "graphile_worker";

/**
 * The channel `alwrity deploy` (src/bootstrap/deploy.ts) notifies in the platform database
 * once a deploy's migrations have committed; every API process listens on it
 * (src/api/graphql/schema-reload.ts) and takes up the new schema.
 */
export const SCHEMA_CHANNEL = "alwrity_schema_changed";

/** The database keys, in the spec's order. */
export const DATABASE_KEYS: readonly DatabaseKey[] = DATABASE_SPECS.map((d) => d.key);

export function databaseSpec(key: DatabaseKey): DatabaseSpec {
  return DATABASE_SPECS.find((d) => d.key === key)!;
}

/**
 * Where everything of one database lives in the checkout, relative to the
 * project root, derived from its spec's folder: the one place these paths are
 * built (migrations, tooling, the API's tags, readiness, restore).
 */
export interface DatabaseFiles {
  /** graphile-migrate's folder (committed/ and current.sql below it). */
  readonly migrations: string;
  readonly committed: string;
  readonly current: string;
  /** pgtyped's query files (*.sql). */
  readonly queries: string;
  /** The smart tags PostGraphile reads. */
  readonly tags: string;
  /** Generated files of this database (query types, schema dump). */
  readonly generated: string;
  readonly schemaDump: string;
  /** The database's pgTAP files. */
  readonly sqlTests: string;
}

export function databaseFiles(spec: Pick<DatabaseSpec, "folder">): DatabaseFiles {
  const migrations = `db/${spec.folder}/migrations`;
  return {
    migrations,
    committed: `${migrations}/committed`,
    current: `${migrations}/current.sql`,
    queries: `db/${spec.folder}/queries`,
    tags: `db/${spec.folder}/postgraphile.tags.json5`,
    generated: `generated/${spec.folder}`,
    schemaDump: `generated/${spec.folder}/schema.sql`,
    sqlTests: `test/db/${spec.folder}`,
  };
}

export interface ResolvedRole extends RoleSpec {
  readonly name: string;
  readonly memberOfNames: readonly string[];
}

export interface ResolvedDatabase extends DatabaseSpec {
  readonly name: string;
  readonly ownerName: string;
  readonly connectNames: readonly string[];
}

export interface Topology {
  readonly prefix: string;
  readonly roles: readonly ResolvedRole[];
  readonly databases: readonly ResolvedDatabase[];
  role(key: RoleKey): ResolvedRole;
  database(key: DatabaseKey): ResolvedDatabase;
  /** Placeholder values for graphile-migrate and SQL test files. */
  placeholders(): Record<string, string>;
}

const PREFIX_FORM = /^[a-z][a-z0-9_]{0,19}$/;

/** Applies an environment prefix ("" for none) to the spec. */
export function resolveTopology(prefix = ""): Topology {
  if (prefix !== "" && !PREFIX_FORM.test(prefix)) {
    throw new Error(
      `DATABASE_ENV_PREFIX must be empty or a lowercase identifier of at most 20 characters (letters, digits, _), starting with a letter`,
    );
  }
  const qualify = (base: string) => (prefix ? `${prefix}_${base}` : base);
  const nameOf = (key: RoleKey) => qualify(roleSpec(key).baseName);
  const roles = ROLE_SPECS.map((r) => ({ ...r, name: qualify(r.baseName), memberOfNames: r.memberOf.map(nameOf) }));
  const databases = DATABASE_SPECS.map((d) => ({
    ...d,
    name: qualify(d.baseName),
    ownerName: nameOf(d.owner),
    connectNames: d.connect.map(nameOf),
  }));
  return {
    prefix,
    roles,
    databases,
    role: (key) => roles.find((r) => r.key === key)!,
    database: (key) => databases.find((d) => d.key === key)!,
    placeholders: () => Object.fromEntries(roles.map((r) => [r.placeholder, r.name])),
  };
}

function roleSpec(key: RoleKey): RoleSpec {
  const spec = ROLE_SPECS.find((r) => r.key === key);
  if (!spec) throw new Error(`unknown role ${key}`);
  return spec;
}
