/**
 * The services over the generated queries, on a deployment of this file's own
 * (they commit data). User-data services run as the user, so each user sees
 * and changes only their own rows, though no query names a user id.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import { changePlan, currentSubscription, findOrCreateUser } from "../../src/services/accounts.ts";
import { createAsset, deleteAsset, listProjectAssets } from "../../src/services/assets.ts";
import { createPersona, deletePersona, listPersonas, updatePersona } from "../../src/services/personas.ts";
import { getProfile, saveProfile } from "../../src/services/profile.ts";
import { createProject, deleteProject, listProjects, updateProject } from "../../src/services/projects.ts";
import { recordUsage, usageThisMonth, UsageLimitExceededError } from "../../src/services/usage.ts";
import { databasesFor, newUser, ownDeployment } from "../support/databases.ts";

const endpoints = ownDeployment();
let databases: Databases;
let alice: string;
let bob: string;
beforeAll(async () => {
  databases = databasesFor(endpoints());
  alice = await newUser(databases);
  bob = await newUser(databases);
});
afterAll(() => databases.close());

describe("accounts and usage (platform database)", () => {
  test("findOrCreateUser creates once and then finds the same account, keeping the email current", async () => {
    const first = await findOrCreateUser(databases.platform, { clerkId: "user_services_1", email: "one@example.com", displayName: "One" });
    const again = await findOrCreateUser(databases.platform, { clerkId: "user_services_1", email: "new@example.com" });
    expect(again).toMatchObject({ id: first.id, email: "new@example.com", display_name: "One", subscription_status: "active" });
  });

  test("a new user is on the Free plan; after a plan change the user sees the new plan", async () => {
    expect(await currentSubscription(databases.platform, alice)).toMatchObject({ plan_name: "Free", status: "active" });
    await changePlan(databases.platform, { userId: bob, planName: "Pro" });
    expect(await currentSubscription(databases.platform, bob)).toMatchObject({ plan_name: "Pro", features: expect.objectContaining({ monthly_tokens: 1000000 }) });
    expect(await currentSubscription(databases.platform, alice)).toMatchObject({ plan_name: "Free" });
  });

  test("usage is recorded, summed per feature for its user only, and refused past the plan's limit", async () => {
    await recordUsage(databases.platform, { userId: alice, feature: "blog_writer", tokensUsed: 1000, costUsd: "0.012", metadata: { model: "m" } });
    await recordUsage(databases.platform, { userId: alice, feature: "blog_writer", tokensUsed: 500 });
    await recordUsage(databases.platform, { userId: bob, feature: "podcast", tokensUsed: 7 });
    expect(await usageThisMonth(databases.platform, alice)).toEqual([{ feature: "blog_writer", tokens_used: "1500", cost_usd: "0.012000", events: "2" }]);
    expect(await usageThisMonth(databases.platform, bob)).toEqual([{ feature: "podcast", tokens_used: "7", cost_usd: "0.000000", events: "1" }]);
    await expect(recordUsage(databases.platform, { userId: alice, feature: "blog_writer", tokensUsed: 50_000 })).rejects.toBeInstanceOf(UsageLimitExceededError);
  });
});

describe("user data, as the user", () => {
  test("projects: create, list newest first, update the fields given, delete; another user sees and changes nothing", async () => {
    const older = await createProject(databases.userData, alice, { projectName: "Older", projectType: "blog" });
    const newer = await createProject(databases.userData, alice, { projectName: "Newer", projectType: "podcast", projectMetadata: { audience: "devs" } });
    expect((await listProjects(databases.userData, alice)).map((p) => p.project_name)).toEqual(["Newer", "Older"]);
    expect(await listProjects(databases.userData, bob)).toEqual([]);

    expect(await updateProject(databases.userData, bob, { id: older.id, projectName: "Stolen" })).toBeNull();
    expect(await deleteProject(databases.userData, bob, older.id)).toBe(false);
    const updated = await updateProject(databases.userData, alice, { id: newer.id, isArchived: true });
    expect(updated).toMatchObject({ project_name: "Newer", project_metadata: { audience: "devs" }, is_archived: true });
    expect((await listProjects(databases.userData, alice)).map((p) => p.project_name)).toEqual(["Older"]);
    expect((await listProjects(databases.userData, alice, { includeArchived: true })).length).toBe(2);
    expect(await deleteProject(databases.userData, alice, newer.id)).toBe(true);
  });

  test("assets: a project's assets come in pages, newest first; other users' projects are out of reach", async () => {
    const project = await createProject(databases.userData, alice, { projectName: "Assets", projectType: "blog" });
    for (let i = 1; i <= 5; i++) {
      await createAsset(databases.userData, alice, { projectId: project.id, assetType: "blog_post", title: `Post ${i}`, seoData: { slug: `post-${i}` } });
    }
    const page = (number: number) => listProjectAssets(databases.userData, alice, project.id, { number, size: 2 });
    expect((await page(1)).map((a) => a.title)).toEqual(["Post 5", "Post 4"]);
    expect((await page(3)).map((a) => a.title)).toEqual(["Post 1"]);
    expect(() => listProjectAssets(databases.userData, alice, project.id, { number: 0, size: 2 })).toThrow(RangeError);

    expect(await listProjectAssets(databases.userData, bob, project.id)).toEqual([]);
    // Bob cannot hang an asset off Alice's project: the composite key finds no such project of his.
    await expect(createAsset(databases.userData, bob, { projectId: project.id, assetType: "other" })).rejects.toThrow(/foreign key/);
    const [newest] = await page(1);
    expect(await deleteAsset(databases.userData, bob, newest!.id)).toBe(false);
    expect(await deleteAsset(databases.userData, alice, newest!.id)).toBe(true);
  });

  test("personas: create, rename, list, delete, per user", async () => {
    const persona = await createPersona(databases.userData, alice, { personaName: "Friendly", characteristics: { tone: "warm" } });
    await createPersona(databases.userData, bob, { personaName: "Friendly" }); // the same name is fine for another user
    expect(await updatePersona(databases.userData, alice, { id: persona.id, personaName: "Friendlier" })).toMatchObject({ persona_name: "Friendlier", characteristics: { tone: "warm" } });
    expect(await updatePersona(databases.userData, bob, { id: persona.id, personaName: "Mine" })).toBeNull();
    expect((await listPersonas(databases.userData, alice)).map((p) => p.persona_name)).toEqual(["Friendlier"]);
    expect(await deletePersona(databases.userData, alice, persona.id)).toBe(true);
  });

  test("profile: none at first, created on first save, then changed field by field; JSON arrays survive", async () => {
    expect(await getProfile(databases.userData, alice)).toBeNull();
    await saveProfile(databases.userData, alice, { businessName: "Alice Co", contentGoals: ["reach", "leads"] });
    const saved = await saveProfile(databases.userData, alice, { industry: "Publishing", preferences: { tone: "plain" } });
    expect(saved).toMatchObject({ business_name: "Alice Co", industry: "Publishing", content_goals: ["reach", "leads"], preferences: { tone: "plain" } });
    expect(await getProfile(databases.userData, bob)).toBeNull();
  });
});
