/**
 * Policies over the resource graph of the Pulumi program, run under mocks
 * with the development stack's own configuration (Pulumi.dev.yaml). Each test
 * states a rule an environment must keep, whatever the topology spec says.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { resolveTopology, ROLE_SPECS, type Topology } from "../../src/topology.ts";
import { declaredShape } from "./support/catalog-shape.ts";
import { isSecret, runProgram, TYPES, valueOf, type ProgramRun, type RecordedResource } from "./support/run-program.ts";
import { readStackConfig } from "./support/stack-file.ts";

const stackConfig = readStackConfig("Pulumi.dev.yaml");
const topology: Topology = resolveTopology(stackConfig.envPrefix);
let run: ProgramRun;
let roles: RecordedResource[];

const roleNamed = (name: string) => roles.find((r) => r.inputs.name === name);
const GRANT_TYPES: string[] = [TYPES.grant, TYPES.grantRole, TYPES.defaultPrivileges];

beforeAll(async () => {
  // A secret cannot be written into a stack file by hand; the CLI would supply it decrypted.
  run = await runProgram("dev", { ...stackConfig, adminPassword: "admin-secret" }, ["adminPassword"]);
  roles = run.ofType(TYPES.role);
});

describe("roles", () => {
  test("every role of the topology spec is declared, and no other", () => {
    expect(roles.map((r) => r.inputs.name).sort()).toEqual(topology.roles.map((r) => r.name).sort());
  });

  test("no role is a superuser, and none may create databases or roles or replicate", () => {
    for (const { inputs } of roles) {
      // Stated explicitly on every role, not left to the provider's defaults.
      expect({ name: inputs.name, superuser: inputs.superuser, createDatabase: inputs.createDatabase, createRole: inputs.createRole, replication: inputs.replication }).toEqual({
        name: inputs.name,
        superuser: false,
        createDatabase: false,
        createRole: false,
        replication: false,
      });
    }
  });

  test("the authenticator is NOINHERIT and can log in with a password", () => {
    const authenticator = roleNamed(topology.role("authenticator").name);
    expect(authenticator?.inputs).toMatchObject({ login: true, inherit: false });
    expect(authenticator?.inputs.password).toEqual(expect.any(String));
  });

  test("only roles the spec marks may bypass row-level security, and the spec says why", () => {
    const bypassing = roles.filter((r) => r.inputs.bypassRowLevelSecurity !== false).map((r) => r.inputs.name as string);
    expect(bypassing.sort()).toEqual(topology.roles.filter((r) => r.bypassRls).map((r) => r.name).sort());
    for (const spec of ROLE_SPECS.filter((r) => r.bypassRls)) {
      expect(spec.bypassRlsReason?.trim().length ?? 0, `${spec.key} needs a reason to bypass RLS`).toBeGreaterThan(20);
    }
  });

  test("statement_timeout is set where the spec sets it, and only there", () => {
    for (const spec of topology.roles) {
      expect(roleNamed(spec.name)?.inputs.statementTimeout, spec.name).toBe(spec.statementTimeoutMs);
    }
  });

  test("memberships are exactly the spec's, declared authoritatively on the member", () => {
    expect(run.ofType(TYPES.grantRole)).toEqual([]);
    for (const spec of topology.roles) {
      expect([...(roleNamed(spec.name)?.inputs.roles ?? [])].sort(), spec.name).toEqual([...spec.memberOfNames].sort());
    }
  });
});

describe("secrets", () => {
  test("every login's password is generated, and secret wherever it appears", async () => {
    const passwords = run.ofType(TYPES.password);
    expect(passwords.length).toBe(topology.roles.filter((r) => r.login).length);
    for (const role of roles) {
      if (!role.inputs.login) {
        expect(role.inputs.password, `${role.inputs.name} cannot log in, so it has no password`).toBeUndefined();
        continue;
      }
      expect(role.secretInputs.has("password"), role.name).toBe(true);
      const source = passwords.find((p) => role.dependencies.includes(p.urn));
      expect(source, `${role.name}'s password comes from a RandomPassword`).toBeDefined();
      expect(source?.inputs).toMatchObject({ special: false });
      expect(source!.inputs.length).toBeGreaterThanOrEqual(32);
    }
    for (const declared of run.program.roles.values()) {
      if (declared.password) {
        expect(await isSecret(declared.password.result)).toBe(true);
        expect(await isSecret(declared.role.password)).toBe(true);
      }
    }
  });

  test("the admin password reaches the provider as a secret", () => {
    const [provider] = run.ofType(TYPES.provider);
    expect(provider?.secretInputs.has("password")).toBe(true);
    expect(provider?.inputs.password).toBe("admin-secret");
  });
});

describe("databases", () => {
  test("both databases are declared, owned by the spec's owner", () => {
    const databases = run.ofType(TYPES.database).map((d) => ({ name: d.inputs.name, owner: d.inputs.owner }));
    expect(databases).toEqual(topology.databases.map((d) => ({ name: d.name, owner: d.ownerName })));
  });

  test("PUBLIC has no CONNECT (nor any other privilege) on either database", () => {
    const declared = declaredShape(run.resources).databases;
    expect(declared).toHaveLength(topology.databases.length);
    for (const db of declared) expect(db.privileges.filter((p) => p.startsWith("PUBLIC:")), db.name).toEqual([]);
  });

  test("only the logins the spec lists may connect", () => {
    for (const db of declaredShape(run.resources).databases) {
      const spec = topology.databases.find((d) => d.name === db.name)!;
      const canConnect = db.privileges.filter((p) => p.endsWith(":CONNECT")).map((p) => p.split(":")[0]);
      expect(canConnect.sort(), db.name).toEqual([...spec.connectNames].sort());
    }
  });

  test("a database's owner keeps its rights: no grant targets it (the provider revokes before it grants)", () => {
    for (const grant of run.ofType(TYPES.grant)) {
      const owner = run.ofType(TYPES.database).find((d) => d.inputs.name === grant.inputs.database)?.inputs.owner;
      expect(owner, `${grant.name} is on a declared database`).toBeDefined();
      expect(grant.inputs.role, grant.name).not.toBe(owner);
    }
  });

  test("the extensions are the ones the spec lists", () => {
    for (const db of declaredShape(run.resources).databases) {
      expect(db.extensions, db.name).toEqual([...topology.databases.find((d) => d.name === db.name)!.extensions].sort());
    }
  });

  test("development databases are not protected, so a development stack can be torn down", () => {
    for (const db of run.ofType(TYPES.database)) expect({ protect: db.protect, retainOnDelete: db.retainOnDelete }).toEqual({ protect: false, retainOnDelete: false });
  });
});

describe("the program's boundaries", () => {
  test("grants are serialized: of any two, one waits for the other", () => {
    const grants = run.resources.filter((r) => GRANT_TYPES.includes(r.type));
    const expected = topology.databases.reduce((n, d) => n + 1 + d.connect.filter((k) => k !== d.owner).length, 0);
    expect(grants).toHaveLength(expected);
    const waitsFor = (a: RecordedResource, b: RecordedResource, seen = new Set<string>()): boolean =>
      a.dependencies.some((urn) => {
        if (urn === b.urn) return true;
        if (seen.has(urn)) return false;
        seen.add(urn);
        const next = run.byUrn(urn);
        return next !== undefined && waitsFor(next, b, seen);
      });
    for (const a of grants) {
      for (const b of grants) {
        if (a !== b) expect(waitsFor(a, b) || waitsFor(b, a), `${a.name} / ${b.name}`).toBe(true);
      }
    }
  });

  test("schema objects, their grants and default privileges are left to the migrations", () => {
    expect(run.ofType(TYPES.schema)).toEqual([]);
    expect(run.ofType(TYPES.defaultPrivileges)).toEqual([]);
    expect(run.ofType(TYPES.grant).filter((g) => g.inputs.objectType !== "database")).toEqual([]);
  });

  test("every PostgreSQL resource uses the stack's provider, configured from the stack", () => {
    const [provider, ...others] = run.ofType(TYPES.provider);
    expect(others).toEqual([]);
    // Provider inputs reach the engine as JSON strings.
    expect(provider?.inputs).toMatchObject({
      host: stackConfig.host,
      port: stackConfig.port,
      username: stackConfig.adminUser,
      sslmode: stackConfig.sslmode,
      superuser: stackConfig.superuser,
    });
    const postgres = run.resources.filter((r) => r.type.startsWith("postgresql:"));
    expect(postgres.length).toBeGreaterThan(0);
    for (const r of postgres) expect(r.provider.startsWith(`${provider!.urn}::`), r.name).toBe(true);
  });
});

describe("stack outputs", () => {
  const URLS = {
    PLATFORM_DATABASE_URL: ["authenticator", "platform"],
    USER_DATA_DATABASE_URL: ["authenticator", "userData"],
    PLATFORM_MIGRATION_DATABASE_URL: ["owner", "platform"],
    USER_DATA_MIGRATION_DATABASE_URL: ["owner", "userData"],
  } as const;

  test("the outputs are the four URLs, the prefix, the pooler mode and the webhook secret, nothing else", () => {
    expect(Object.keys(run.outputs).sort()).toEqual([...Object.keys(URLS), "CLERK_WEBHOOK_SECRET", "DATABASE_ENV_PREFIX", "DATABASE_POOLER_MODE"].sort());
    // The development stack takes no Clerk webhooks: no secret, no output.
    expect(run.outputs.CLERK_WEBHOOK_SECRET).toBeUndefined();
    expect(run.outputs.DATABASE_ENV_PREFIX).toBe(topology.prefix);
    // Every output is a variable the app reads, with a value its configuration accepts.
    expect(loadConfig({ DATABASE_POOLER_MODE: run.outputs.DATABASE_POOLER_MODE as string }).poolerMode).toBe("session");
  });

  test("every URL is secret and logs its role in to its database", async () => {
    for (const [output, [role, database]] of Object.entries(URLS)) {
      const value = run.outputs[output as keyof typeof URLS];
      expect(await isSecret(value), output).toBe(true);
      const url = new URL(await valueOf(value));
      const query = Object.fromEntries(url.searchParams);
      expect({ user: url.username, password: url.password, database: url.pathname, query }, output).toEqual({
        user: topology.role(role).name,
        password: `mock-password-${role}-password`,
        database: `/${topology.database(database).name}`,
        query: { sslmode: stackConfig.sslmode, uselibpqcompat: "true" },
      });
    }
  });

  test("the app's configuration accepts the outputs as they are", async () => {
    // Production also needs a Clerk key; that comes from the app's own secrets, not from Pulumi.
    const env: Record<string, string> = {
      ENVIRONMENT: "production",
      DATABASE_ENV_PREFIX: run.outputs.DATABASE_ENV_PREFIX,
      CLERK_SECRET_KEY: "sk_test_placeholder",
      CLERK_ISSUER: "https://clerk.example.com",
      CLERK_AUTHORIZED_PARTIES: "https://app.example.com",
    };
    for (const name of Object.keys(URLS) as (keyof typeof URLS)[]) env[name] = await valueOf(run.outputs[name]);
    const config = loadConfig(env);
    expect(config.envPrefix).toBe(topology.prefix);
    expect(config.source).toMatchObject({
      kind: "urls",
      platformUrl: env.PLATFORM_DATABASE_URL,
      userDataUrl: env.USER_DATA_DATABASE_URL,
      platformMigrationUrl: env.PLATFORM_MIGRATION_DATABASE_URL,
      userDataMigrationUrl: env.USER_DATA_MIGRATION_DATABASE_URL,
    });
  });
});
