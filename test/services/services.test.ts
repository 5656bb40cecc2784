/**
 * The services over the generated queries, on the shared test deployment
 * (they commit data, but only for users this file registers). Each takes the caller's session: user-data services run
 * as the user, so each user sees and changes only their own rows, though no
 * query names a user id; several calls can share one transaction.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import type { AdminSession, UserSession } from "../../src/db/session.ts";
import { changePlan, currentSubscription, findOrCreateUser } from "../../src/services/accounts.ts";
import { createAsset, deleteAsset, listProjectAssets } from "../../src/services/assets.ts";
import { createPersona, deletePersona, listPersonas, updatePersona } from "../../src/services/personas.ts";
import { getProfile, saveProfile } from "../../src/services/profile.ts";
import { createProject, deleteProject, listProjects, updateProject } from "../../src/services/projects.ts";
import { recordUsage, usageThisMonth, UsageLimitExceededError } from "../../src/services/usage.ts";
import { databasesFor, newUser, sharedEndpoints } from "../support/databases.ts";
import { syncEntitlements } from "../../src/services/entitlements.ts";
import { requestPlanChange } from "../../src/services/plans.ts";

const endpoints = sharedEndpoints;
let databases: Databases;
let alice: string;
let bob: string;
beforeAll(async () => {
  databases = databasesFor(endpoints());
  alice = await newUser(databases);
  bob = await newUser(databases);
});
afterAll(() => databases.close());

const admin = <T>(fn: (s: AdminSession) => Promise<T>) => databases.platform.withPlatformAdmin(fn);
const onPlatformAs = <T>(user: string, fn: (s: UserSession<"platform">) => Promise<T>) => databases.platform.withUserContext(user, fn);
const as = <T>(user: string, fn: (s: UserSession<"userData">) => Promise<T>) => databases.userData.withUserContext(user, fn);

describe("accounts and usage (platform database)", () => {
  test("findOrCreateUser creates once and then finds the same account, keeping the email current", async () => {
    const first = await admin((s) => findOrCreateUser(s, { clerkId: "user_services_1", email: "one@example.com", displayName: "One" }));
    const again = await admin((s) => findOrCreateUser(s, { clerkId: "user_services_1", email: "new@example.com" }));
    expect(again).toMatchObject({ id: first.id, email: "new@example.com", display_name: "One", subscription_status: "active" });
  });

  test("a new user is on the Free plan; after a plan change the user sees the new plan", async () => {
    expect(await onPlatformAs(alice, currentSubscription)).toMatchObject({ plan_name: "Free", status: "active" });
    await admin((s) => changePlan(s, { userId: bob, planName: "Pro" }));
    expect(await onPlatformAs(bob, currentSubscription)).toMatchObject({ plan_name: "Pro", features: expect.objectContaining({ monthly_tokens: 1000000 }) });
    expect(await onPlatformAs(alice, currentSubscription)).toMatchObject({ plan_name: "Free" });
  });

  test("usage is recorded, summed per feature for its user only, and refused past the plan's limit", async () => {
    await admin(async (s) => {
      await recordUsage(s, { userId: alice, feature: "blog_writer", tokensUsed: 1000, costUsd: "0.012", metadata: { model: "m" } });
      await recordUsage(s, { userId: alice, feature: "blog_writer", tokensUsed: 500 });
      await recordUsage(s, { userId: bob, feature: "podcast", tokensUsed: 7 });
    });
    expect(await onPlatformAs(alice, usageThisMonth)).toEqual([{ feature: "blog_writer", tokens_used: "1500", cost_usd: "0.012000", events: "2" }]);
    expect(await onPlatformAs(bob, usageThisMonth)).toEqual([{ feature: "podcast", tokens_used: "7", cost_usd: "0.000000", events: "1" }]);
    await expect(admin((s) => recordUsage(s, { userId: alice, feature: "blog_writer", tokensUsed: 50_000 }))).rejects.toBeInstanceOf(UsageLimitExceededError);
  });
});

describe("user data, as the user", () => {
  // Room for the several personas these tests create: Alice and Bob are on Pro in both databases
  // (plan limits themselves: test/db/plan-limits-concurrency.test.ts, test/db/user_data/06_entitlements.sql).
  beforeAll(async () => {
    for (const user of [alice, bob]) {
      await admin((s) => requestPlanChange(s, user, "Pro"));
      await syncEntitlements(databases, user);
    }
  });

  test("projects: create, list newest first, update the fields given, delete; another user sees and changes nothing", async () => {
    const older = await as(alice, (s) => createProject(s, { projectName: "Older", projectType: "blog" }));
    const newer = await as(alice, (s) => createProject(s, { projectName: "Newer", projectType: "podcast", projectMetadata: { audience: "devs" } }));
    expect((await as(alice, (s) => listProjects(s))).map((p) => p.project_name)).toEqual(["Newer", "Older"]);
    expect(await as(bob, (s) => listProjects(s))).toEqual([]);

    expect(await as(bob, (s) => updateProject(s, older.id, { projectName: "Stolen" }))).toBeNull();
    expect(await as(bob, (s) => deleteProject(s, older.id))).toBe(false);
    const updated = await as(alice, (s) => updateProject(s, newer.id, { isArchived: true }));
    expect(updated).toMatchObject({ project_name: "Newer", project_metadata: { audience: "devs" }, is_archived: true });
    expect((await as(alice, (s) => listProjects(s))).map((p) => p.project_name)).toEqual(["Older"]);
    expect((await as(alice, (s) => listProjects(s, { includeArchived: true }))).length).toBe(2);
    expect(await as(alice, (s) => deleteProject(s, newer.id))).toBe(true);
  });

  test("a patch means what it means in the API: a field given as null is set to null, an absent field keeps its value", async () => {
    const project = await as(alice, (s) => createProject(s, { projectName: "Described", projectType: "blog", description: "to be cleared" }));
    const cleared = await as(alice, (s) => updateProject(s, project.id, { description: null }));
    expect(cleared).toMatchObject({ project_name: "Described", description: null });
    const persona = await as(alice, (s) => createPersona(s, { personaName: "Plain", description: "old" }));
    expect(await as(alice, (s) => updatePersona(s, persona.id, { description: null }))).toMatchObject({ persona_name: "Plain", description: null });
    await as(alice, (s) => saveProfile(s, { businessName: "Clear Me", industry: "Kept" }));
    expect(await as(alice, (s) => saveProfile(s, { businessName: null }))).toMatchObject({ business_name: null, industry: "Kept" });
    // A required column stays required: null is refused, as the API refuses it.
    await expect(as(alice, (s) => updateProject(s, project.id, { projectName: null }))).rejects.toMatchObject({ code: "23502" });
  });

  test("several service calls in one transaction commit or roll back together", async () => {
    const planned = new Error("planned failure after two writes");
    await expect(
      as(alice, async (s) => {
        await createProject(s, { projectName: "Half done", projectType: "blog" });
        await createPersona(s, { personaName: "Half done" });
        throw planned;
      }),
    ).rejects.toBe(planned);
    expect((await as(alice, (s) => listProjects(s, { includeArchived: true }))).map((p) => p.project_name)).not.toContain("Half done");
    expect((await as(alice, listPersonas)).map((p) => p.persona_name)).not.toContain("Half done");

    const [project, persona] = await as(alice, async (s) => [await createProject(s, { projectName: "Both", projectType: "blog" }), await createPersona(s, { personaName: "Both" })] as const);
    expect(await as(alice, (s) => createAsset(s, { projectId: project.id, personaId: persona.id, assetType: "blog_post" }))).toMatchObject({ persona_id: persona.id });
  });

  test("assets: a project's assets come in pages, newest first; other users' projects are out of reach", async () => {
    const project = await as(alice, (s) => createProject(s, { projectName: "Assets", projectType: "blog" }));
    // One transaction each: now() is the transaction's time, and the order is by it.
    for (let i = 1; i <= 5; i++) await as(alice, (s) => createAsset(s, { projectId: project.id, assetType: "blog_post", title: `Post ${i}`, seoData: { slug: `post-${i}` } }));
    const page = (number: number) => as(alice, (s) => listProjectAssets(s, project.id, { number, size: 2 }));
    expect((await page(1)).map((a) => a.title)).toEqual(["Post 5", "Post 4"]);
    expect((await page(3)).map((a) => a.title)).toEqual(["Post 1"]);
    await expect(as(alice, async (s) => listProjectAssets(s, project.id, { number: 0, size: 2 }))).rejects.toThrow(RangeError);

    expect(await as(bob, (s) => listProjectAssets(s, project.id))).toEqual([]);
    // Bob cannot hang an asset off Alice's project: the composite key finds no such project of his.
    await expect(as(bob, (s) => createAsset(s, { projectId: project.id, assetType: "other" }))).rejects.toThrow(/foreign key/);
    const [newest] = await page(1);
    expect(await as(bob, (s) => deleteAsset(s, newest!.id))).toBe(false);
    expect(await as(alice, (s) => deleteAsset(s, newest!.id))).toBe(true);
  });

  test("personas: create, rename, list, delete, per user", async () => {
    const persona = await as(alice, (s) => createPersona(s, { personaName: "Friendly", characteristics: { tone: "warm" } }));
    await as(bob, (s) => createPersona(s, { personaName: "Friendly" })); // the same name is fine for another user
    expect(await as(alice, (s) => updatePersona(s, persona.id, { personaName: "Friendlier" }))).toMatchObject({ persona_name: "Friendlier", characteristics: { tone: "warm" } });
    expect(await as(bob, (s) => updatePersona(s, persona.id, { personaName: "Mine" }))).toBeNull();
    expect((await as(alice, listPersonas)).map((p) => p.persona_name)).toContain("Friendlier");
    expect(await as(alice, (s) => deletePersona(s, persona.id))).toBe(true);
  });

  test("profile: none at first, created on first save, then changed field by field; JSON arrays survive", async () => {
    const carol = await newUser(databases);
    expect(await as(carol, getProfile)).toBeNull();
    await as(carol, (s) => saveProfile(s, { businessName: "Carol Co", contentGoals: ["reach", "leads"] }));
    const saved = await as(carol, (s) => saveProfile(s, { industry: "Publishing", preferences: { tone: "plain" } }));
    expect(saved).toMatchObject({ business_name: "Carol Co", industry: "Publishing", content_goals: ["reach", "leads"], preferences: { tone: "plain" } });
    expect(await as(bob, getProfile)).toBeNull();
  });
});
