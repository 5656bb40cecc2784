/**
 * A newcomer's first hour, as real processes on a deployment of the file's
 * own: `alwrity dev seed` (twice: nothing doubles; refused in production),
 * `alwrity user plan`, plan conversions as rates, `npm run token -- --admin`
 * against a running `alwrity dev` (the admin analytics, plans listed in their
 * sort order).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import type { Databases } from "../../src/db/databases.ts";
import { listPersonas } from "../../src/services/personas.ts";
import { planHistory } from "../../src/services/plans.ts";
import { listProjects } from "../../src/services/projects.ts";
import { usageThisMonth } from "../../src/services/usage.ts";
import { DEMO_USERS } from "../../src/cli/dev-seed.ts";
import { databasesFor, endpointsEnv, ownDeployment } from "../support/databases.ts";
import { runScript } from "../support/run-script.ts";

const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");
const TOKEN = path.join(PROJECT_ROOT, "src", "cli", "token.ts");
const endpoints = ownDeployment();
let databases: Databases;

beforeAll(() => {
  databases = databasesFor(endpoints());
});
afterAll(() => databases?.close());

const env = (extra: Record<string, string> = {}) => ({ ...endpointsEnv(endpoints()), ...extra });
const alwrity = (args: string[], extra: Record<string, string> = {}, until?: { line: RegExp; then: NodeJS.Signals }) => runScript(CLI, args, env(extra), until, 60_000);

interface Seeded {
  email: string;
  clerkId: string;
  userId: string;
  added: Record<string, number>;
}

async function holdings(userId: string) {
  const content = await databases.userData.withUserContext(userId, async (me) => ({ projects: (await listProjects(me)).length, personas: (await listPersonas(me)).length }));
  const events = (await databases.platform.withUserContext(userId, usageThisMonth)).reduce((sum, f) => sum + Number(f.events), 0);
  const changes = (await databases.platform.withPlatformAdmin((admin) => planHistory(admin, userId))).length;
  return { ...content, events, changes };
}

describe("alwrity dev seed", () => {
  test("makes the demo users with their content, usage and plan changes; a second run adds nothing", async () => {
    const first = await alwrity(["dev", "seed", "--json"]);
    expect(first, first.stderr).toMatchObject({ code: 0, stderr: "" });
    const seeded = JSON.parse(first.stdout) as Seeded[];
    expect(seeded.map((s) => s.email)).toEqual(DEMO_USERS.map((d) => d.email));
    const before = await Promise.all(seeded.map((s) => holdings(s.userId)));
    DEMO_USERS.forEach((demo, i) => {
      expect(before[i]).toEqual({ projects: demo.projects.length, personas: demo.personas.length, events: demo.usage.length, changes: demo.plans.length });
      expect(seeded[i]!.clerkId).toBe(`user_dev_${demo.email.split("@")[0]}`);
    });

    const second = await alwrity(["dev", "seed", "--json"]);
    expect(second).toMatchObject({ code: 0, stderr: "" });
    for (const s of JSON.parse(second.stdout) as Seeded[]) expect(s.added).toEqual({ projects: 0, assets: 0, personas: 0, usageEvents: 0, planChanges: 0 });
    expect(await Promise.all(seeded.map((s) => holdings(s.userId)))).toEqual(before);
  }, 180_000);

  test("is refused in production, naming why", async () => {
    const production = { ENVIRONMENT: "production", CLERK_ISSUER: "https://clerk.example.com", CLERK_AUTHORIZED_PARTIES: "https://app.example.com", CLERK_SECRET_KEY: "sk_test_x" };
    expect(await alwrity(["dev", "seed"], production)).toEqual({ code: 1, stdout: "", stderr: "error: alwrity dev seed makes demo data and is refused when ENVIRONMENT=production\n" });
  });
});

describe("alwrity user plan", () => {
  test("moves a user by Clerk id or user id through the billing's plan change; bad input is one clear line", async () => {
    const seeded = JSON.parse((await alwrity(["dev", "seed", "--json"])).stdout) as Seeded[];
    const ada = seeded.find((s) => s.email === "ada@example.com")!;
    const up = await alwrity(["user", "plan", ada.clerkId, "Pro"]);
    expect(up).toMatchObject({ code: 0, stderr: "" });
    expect(up.stdout).toMatch(new RegExp(`^user ${ada.userId}: upgrade to Pro, applied now \\(change [0-9a-f-]{36}\\)\\n$`));
    const down = JSON.parse((await alwrity(["user", "plan", ada.userId, "Free", "--json"])).stdout) as { kind: string; state: string };
    expect(down).toMatchObject({ kind: "cancel", state: "scheduled" }); // to Free is a cancel
    const now = await alwrity(["user", "plan", ada.userId, "Free", "--now"]);
    expect(now.stdout).toMatch(/cancel to Free, applied now/);
    const history = await databases.platform.withPlatformAdmin((admin) => planHistory(admin, ada.userId));
    expect(history.map((c) => [c.to_plan, c.state, c.source])).toEqual([["Pro", "applied", "admin"], ["Free", "superseded", "admin"], ["Free", "applied", "admin"]]);

    expect(await alwrity(["user", "plan", "user_nobody", "Pro"])).toEqual({ code: 1, stdout: "", stderr: 'error: no platform user with id or Clerk id "user_nobody"\n' });
    expect(await alwrity(["user", "plan", ada.clerkId, "Platinum"])).toMatchObject({ code: 1, stderr: 'error: unknown subscription plan "Platinum"\n' });
    expect(await alwrity(["user", "plan", ada.clerkId])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: alwrity user plan needs a user \(Clerk id or users.id\) and a plan name/) });
  }, 180_000);
});

describe("the first hour against a running alwrity dev", () => {
  test("plan conversions as rates; npm run token -- --admin reads the admin analytics; plans listed in their sort order", async () => {
    await alwrity(["dev", "seed"]);
    // From the CLI: each conversion with its base and rate.
    const cli = JSON.parse((await alwrity(["analytics", "plan-conversions", "--from", "2020-01-01", "--json"])).stdout) as { rows: Record<string, unknown>[] };
    const freeToPro = cli.rows.find((r) => r.from_plan === "Free" && r.to_plan === "Pro")!;
    expect(Number(freeToPro.users_on_from_plan)).toBeGreaterThanOrEqual(Number(freeToPro.users));
    expect(Number(freeToPro.conversion_rate)).toBeCloseTo(Number(freeToPro.users) / Number(freeToPro.users_on_from_plan), 4);

    const development = { ENVIRONMENT: "development", ADMIN_CLAIM: "metadata.role=admin" };
    const token = async (args: string[], extra: Record<string, string> = development) => runScript(TOKEN, args, env(extra));
    const admin = await token(["--admin", "alan@example.com"]);
    expect(admin).toMatchObject({ code: 0 });
    expect(admin.stderr).toMatch(/^token for alan <alan@example.com> \(user_dev_alan\), carrying the admin claim metadata.role=admin, valid 8 hours:/);
    const plain = await token(["grace@example.com"]);
    expect(await token(["--admin", "alan@example.com"], { ENVIRONMENT: "development" })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: --admin needs ADMIN_CLAIM/) });
    expect(await token(["--admin", "alan@example.com"], { ENVIRONMENT: "test" })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: development sign-in is off when ENVIRONMENT=test/) });

    const dev = spawn(process.execPath, [CLI, "dev"], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? "", ...env(development) }, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => dev.once("exit", resolve));
    try {
      let output = "";
      const graphql = await new Promise<string>((resolve, reject) => {
        dev.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /GraphQL API: (\S+)/.exec(output);
          if (match && output.includes("ready")) resolve(match[1]!);
        });
        dev.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        dev.once("exit", (code) => reject(new Error(`alwrity dev exited with ${code}:\n${output}`)));
      });
      const get = async (bearer: string) => {
        const response = await fetch(new URL("/admin/analytics/plan-conversions?from=2020-01-01", graphql), { headers: { authorization: `Bearer ${bearer}` } });
        return { status: response.status, body: (await response.json()) as { rows?: Record<string, unknown>[] } };
      };
      const asAdmin = await get(admin.stdout.trim());
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body.rows).toEqual(cli.rows);
      expect((await get(plain.stdout.trim())).status).toBe(403);

      const plans = await fetch(graphql, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${plain.stdout.trim()}` },
        body: JSON.stringify({ query: "{ subscriptionPlans(orderBy: SORT_ORDER_ASC) { nodes { name sortOrder } } }" }),
      });
      const nodes = ((await plans.json()) as { data: { subscriptionPlans: { nodes: { name: string; sortOrder: number }[] } } }).data.subscriptionPlans.nodes;
      expect(nodes.map((n) => n.name)).toEqual(["Free", "Pro", "Enterprise"]);
    } finally {
      dev.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  }, 240_000);
});
