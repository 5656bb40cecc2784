/**
 * The database service API against the test deployment: connection checks,
 * database information, the row-level security check (and that it fails when
 * a policy or a FORCE goes missing), pools that run out or cannot connect,
 * statement logging, initialisation and closing.
 */
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { initDatabases } from "../../src/bootstrap/init-databases.ts";
import { PoolExhaustedError } from "../../src/db/pools.ts";
import { findRlsProblems, RowLevelSecurityError } from "../../src/db/rls-check.ts";
import { unreachable } from "../support/closed-port.ts";
import { connect } from "../support/connect.ts";
import { databasesFor, deploymentEnv, sharedEndpoints } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();
const endpoints = sharedEndpoints();
const databases = databasesFor(endpoints);
afterAll(() => databases.close());
const authenticator = deployment.topology.role("authenticator").name;
const SOME_USER = "6f1b2a3c-4d5e-4f60-8a7b-8c9d0e1f2a3b";

describe("testConnections", () => {
  test("reports each database reachable, with latency, server version and the login role", async () => {
    const reports = await databases.testConnections();
    expect(reports.map((r) => r.database)).toEqual([deployment.databases.platform.name, deployment.databases.userData.name]);
    for (const r of reports) {
      expect(r).toMatchObject({ reachable: true, connectedAs: authenticator });
      expect(r.serverVersion).toMatch(/^\d+/);
      expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  test("reports an unreachable database by name, with the reason, without throwing", async () => {
    const broken = databasesFor({ ...endpoints, userData: { ...endpoints.userData, apiUrl: await unreachable(endpoints.userData.apiUrl) } });
    try {
      const [platform, userData] = await broken.testConnections();
      expect(platform).toMatchObject({ reachable: true });
      expect(userData).toMatchObject({ reachable: false, database: deployment.databases.userData.name });
      expect(userData!.error).toMatch(new RegExp(`cannot connect to ${deployment.databases.userData.name} at 127\\.0\\.0\\.1:\\d+: .*ECONNREFUSED`));
    } finally {
      await broken.close();
    }
  });
});

describe("getDatabaseInfo", () => {
  test("lists size, tables, forced RLS with policies per user-data table, applied migrations and pool counts", async () => {
    const [platform, userData] = await databases.getDatabaseInfo();
    expect(platform!.tables.map((t) => t.table)).toEqual(
      expect.arrayContaining(["platform.users", "platform.subscription_plans", "platform.user_subscriptions", "platform.platform_usage_logs"]),
    );
    expect(userData!.tables.map((t) => t.table).sort()).toEqual(
      ["idempotency.idempotency_keys", "user_data.user_asset_counts", "user_data.user_content_assets", "user_data.user_entitlements", "user_data.user_personas", "user_data.user_profiles", "user_data.user_projects"],
    );
    for (const table of userData!.tables) {
      expect(table).toMatchObject({ rlsEnabled: true, rlsForced: true });
      expect(table.policies.map((p) => p.command).sort()).toEqual(["delete", "insert", "select", "update"]);
      // Users read every user-data table through a policy of theirs (entitlements are written by the worker only).
      expect(table.policies.find((p) => p.command === "select")!.roles).toEqual([deployment.topology.role("authenticated").name]);
    }
    for (const info of [platform!, userData!]) {
      expect(info.sizeBytes).toBeGreaterThan(0);
      expect(info.migrations?.map((m) => m.filename)).toContain("000001.sql");
      expect(info.pool.total).toBeGreaterThanOrEqual(1);
      expect(info.pool.waiting).toBe(0);
    }
  });

  test("says why the migrations are unknown when no migration login is configured", async () => {
    const apiOnly = databasesFor({ ...endpoints, platform: { ...endpoints.platform, migrationUrl: undefined } });
    try {
      const [platform] = await apiOnly.getDatabaseInfo();
      expect(platform).toMatchObject({ migrations: null, migrationsNote: expect.stringMatching(/no migration login/) });
    } finally {
      await apiOnly.close();
    }
  });
});

describe("verifyRowLevelSecurity", () => {
  test("passes on the migrated databases and names the per-user tables it checked", async () => {
    const findings = await databases.verifyRowLevelSecurity();
    // Partitions are reached through their parent, under its policies: the parent is what is checked.
    expect([...findings.platform.tables]).toEqual([
      "idempotency.idempotency_keys",
      "platform.plan_changes",
      "platform.platform_usage_logs",
      "platform.usage_monthly_totals",
      "platform.user_subscriptions",
      "platform.users",
      "platform_audit.events",
      "platform_backend.account_deletions",
      "platform_backend.billing_accounts",
      "platform_backend.entitlement_syncs",
      "platform_backend.entitlement_versions",
      "platform_backend.stripe_invoices",
      "platform_backend.stripe_subscriptions",
    ]);
    expect(findings.userData.tables).toHaveLength(7);
  });

  test("names the table when a per-user table loses its FORCE or the policy for a command", async () => {
    // Inside a transaction of the owner, rolled back: the other test files never see the change.
    await connect({ connectionString: deployment.databases.userData.migrationUrl }, async (owner) => {
      await owner.query("begin");
      try {
        await owner.query("alter table user_data.user_personas no force row level security");
        await owner.query("drop policy delete_own on user_data.user_projects");
        const roles = (["authenticated", "anonymous", "platformAdmin"] as const).map((k) => deployment.topology.role(k).name);
        const findings = await findRlsProblems({ query: (text, values) => owner.query(text, values as unknown[]) }, roles);
        expect(findings.problems).toEqual([
          "user_data.user_personas: row-level security is not forced (the table owner bypasses it)",
          `user_data.user_projects: ${roles[0]} may delete but no policy covers delete for it`,
        ]);
        expect(new RowLevelSecurityError(findings.problems).message).toMatch(/^row-level security check failed: user_data\.user_personas: /);
      } finally {
        await owner.query("rollback");
      }
    });
  });
});

describe("pools", () => {
  test("a pool whose connections all stay busy fails within DB_POOL_TIMEOUT, naming the database", async () => {
    const tiny = databasesFor(endpoints, { size: 1, maxOverflow: 0, timeoutMs: 300 });
    let release!: () => void;
    const held = tiny.userData.withUserContext(SOME_USER, () => new Promise<void>((resolve) => (release = resolve)));
    try {
      await new Promise((r) => setTimeout(r, 100)); // the first transaction holds the only connection
      const started = Date.now();
      const error = await tiny.userData.withUserContext(SOME_USER, async () => "never").catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(PoolExhaustedError);
      expect((error as Error).message).toBe(
        `${deployment.databases.userData.name}: pool exhausted: all 1 connections (DB_POOL_SIZE + DB_MAX_OVERFLOW) stayed busy for 0.3s (DB_POOL_TIMEOUT)`,
      );
    } finally {
      release();
      await held;
      await tiny.close();
    }
  });

  test("an unreachable database fails at once with an error naming it", async () => {
    const broken = databasesFor({ ...endpoints, platform: { ...endpoints.platform, apiUrl: await unreachable(endpoints.platform.apiUrl) } });
    try {
      await expect(broken.platform.withPlatformAdmin(async () => 1)).rejects.toThrow(
        new RegExp(`^cannot connect to ${deployment.databases.platform.name} at 127\\.0\\.0\\.1:\\d+: .*ECONNREFUSED`),
      );
    } finally {
      await broken.close();
    }
  });

  test("DATABASE_ECHO logs each statement as a JSON record with its duration and parameter count, never the values", async () => {
    const lines: string[] = [];
    const { jsonLinesLogger } = await import("../../src/log.ts");
    const echoing = databasesFor(endpoints, {}, { echo: true, logger: jsonLinesLogger((line) => lines.push(line)) });
    try {
      await echoing.userData.withUserContext(SOME_USER, (s) => s.query("select $1::text as secret, $2::int as n", ["hunter2-secret", 7]));
    } finally {
      await echoing.close();
    }
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const statement = records.find((r) => String(r.statement).includes("as secret"));
    expect(statement).toMatchObject({ event: "statement", database: deployment.databases.userData.name, params: 2, rows: 1 });
    expect(typeof statement!.ms).toBe("number");
    // The transaction's settings go with its begin, as literals; the log shows placeholders in their place.
    expect(records.map((r) => r.statement)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^begin; select .*set_config\('app\.current_user_id', \$2, true\)/), expect.stringMatching(/^commit; /)]),
    );
    expect(lines.join("")).not.toContain("hunter2-secret");
    expect(lines.join("")).not.toContain(SOME_USER);
  });
});

describe("lifecycle", () => {
  test("initDatabases migrates idempotently and close() may be called twice", async () => {
    const config = loadConfig(deploymentEnv());
    for (let run = 0; run < 2; run++) {
      const initialized = await initDatabases(config, { logger: () => undefined });
      expect((await initialized.testConnections()).every((r) => r.reachable)).toBe(true);
      await initialized.close();
      await initialized.close();
    }
  });

  test("a closed API object refuses work instead of reopening connections", async () => {
    const closed = databasesFor(endpoints);
    await closed.close();
    await expect(closed.platform.withPlatformAdmin(async () => 1)).rejects.toThrow(`${deployment.databases.platform.name}: the database API was closed`);
  });
});
