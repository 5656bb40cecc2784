/**
 * `alwrity dev seed` / `npm run seed`: demo data to try analytics, plans and
 * quotas locally. Four users whose Clerk ids are the development sign-in's
 * (`npm run token -- ada@example.com` signs in as Ada), each with a profile,
 * projects, assets, personas, a month's usage and plan changes.
 *
 * Everything goes through the services, as the API and the billing do:
 * accounts through register_user, content as the user (row-level security and
 * the plan's limits apply), usage through record_usage (the monthly quota
 * applies), plan changes through change_plan. Running it again adds nothing:
 * each part is made only when the user does not have it yet. Refused in
 * production.
 */
import { loadConfig } from "../config.ts";
import { findOrCreateUser } from "../services/accounts.ts";
import { createAsset, listProjectAssets } from "../services/assets.ts";
import { createPersona, listPersonas } from "../services/personas.ts";
import { planHistory, requestPlanChange } from "../services/plans.ts";
import { ensureProfile, saveProfile } from "../services/profile.ts";
import { createProject, listProjects } from "../services/projects.ts";
import { ensureUsagePartitions, recordUsage, usageThisMonth } from "../services/usage.ts";
import { devIdentity } from "../api/auth/dev-keys.ts";
import type { Databases } from "../db/databases.ts";
import { withDatabases } from "./open-deployment.ts";

interface DemoUser {
  readonly email: string;
  readonly business: string;
  readonly projects: readonly { name: string; type: "blog" | "podcast" | "video" | "newsletter"; assets: readonly { title: string; type: "blog_post" | "podcast_episode" | "video_script" | "newsletter" | "outline" }[] }[];
  readonly personas: readonly string[];
  /** Usage this month: [feature, tokens, cost in USD] per event. */
  readonly usage: readonly (readonly [string, number, string])[];
  /** Plans moved to, in order (every account starts on Free). */
  readonly plans: readonly string[];
}

// Free allows 3 projects, 1 persona and 50,000 tokens a month: Ada sits near her quota.
export const DEMO_USERS: readonly DemoUser[] = [
  {
    email: "ada@example.com",
    business: "Ada's Analytical Engines",
    projects: [
      { name: "Engine notes", type: "blog", assets: [{ title: "On the Analytical Engine", type: "blog_post" }, { title: "Note G", type: "outline" }] },
      { name: "Monthly letter", type: "newsletter", assets: [{ title: "January", type: "newsletter" }] },
    ],
    personas: ["Patient teacher"],
    usage: [["blog_writer", 20_000, "0.40"], ["seo_analysis", 15_000, "0.30"], ["blog_writer", 10_000, "0.20"]],
    plans: [],
  },
  {
    email: "grace@example.com",
    business: "Compiler Works",
    projects: [
      { name: "Debugging stories", type: "podcast", assets: [{ title: "The first bug", type: "podcast_episode" }] },
      { name: "COBOL today", type: "blog", assets: [{ title: "Why COBOL lasts", type: "blog_post" }] },
    ],
    personas: ["Navy officer"],
    usage: [["podcast_writer", 120_000, "2.40"], ["blog_writer", 80_000, "1.60"]],
    plans: ["Pro"],
  },
  {
    email: "alan@example.com",
    business: "Bletchley Media",
    projects: [{ name: "Machines that think", type: "video", assets: [{ title: "The imitation game", type: "video_script" }] }],
    personas: ["Codebreaker"],
    usage: [["video_writer", 400_000, "8.00"], ["seo_analysis", 50_000, "1.00"], ["research", 250_000, "5.00"]],
    plans: ["Enterprise"],
  },
  {
    email: "linus@example.com",
    business: "Kernel Notes",
    projects: [{ name: "Release notes", type: "blog", assets: [{ title: "Just a hobby", type: "blog_post" }] }],
    personas: ["Blunt reviewer"],
    usage: [["blog_writer", 5_000, "0.10"]],
    // An upgrade now, then a downgrade scheduled for the paid period's end.
    plans: ["Pro", "Free"],
  },
];

export interface SeededUser {
  readonly email: string;
  readonly clerkId: string;
  readonly userId: string;
  /** What this run added (zero everywhere on a second run). */
  readonly added: { projects: number; assets: number; personas: number; usageEvents: number; planChanges: number };
}

async function seedUser(databases: Databases, demo: DemoUser): Promise<SeededUser> {
  const identity = devIdentity(demo.email);
  const added = { projects: 0, assets: 0, personas: 0, usageEvents: 0, planChanges: 0 };
  const account = await databases.platform.withPlatformAdmin((admin) => findOrCreateUser(admin, { clerkId: identity.sub, email: identity.email, displayName: identity.name }));
  const userId = account.id;
  await databases.userData.withUserContext(userId, async (me) => {
    await ensureProfile(me);
    await saveProfile(me, { businessName: demo.business, industry: "publishing" });
    const projects = await listProjects(me, { includeArchived: true });
    for (const wanted of demo.projects) {
      const project = projects.find((p) => p.project_name === wanted.name) ?? (added.projects++, await createProject(me, { projectName: wanted.name, projectType: wanted.type }));
      const assets = await listProjectAssets(me, project.id, { number: 1, size: 100 });
      for (const asset of wanted.assets) {
        if (assets.some((a) => a.title === asset.title)) continue;
        await createAsset(me, { projectId: project.id, assetType: asset.type, title: asset.title, content: `${asset.title}: a demo asset.` });
        added.assets++;
      }
    }
    const personas = await listPersonas(me);
    for (const name of demo.personas) {
      if (personas.some((p) => p.persona_name === name)) continue;
      await createPersona(me, { personaName: name, description: `${name} (demo)` });
      added.personas++;
    }
  });
  // Plan changes (before usage: the plan decides the monthly quota), only for a user who never had one.
  await databases.platform.withPlatformAdmin(async (admin) => {
    if ((await planHistory(admin, userId)).length > 0) return;
    for (const plan of demo.plans) await requestPlanChange(admin, userId, plan, { source: "admin" });
    added.planChanges = demo.plans.length;
  });
  // Usage: only when the user has none this month, so a second run does not double it.
  const used = await databases.platform.withUserContext(userId, usageThisMonth);
  if (used.length === 0) {
    await databases.platform.withPlatformAdmin(async (admin) => {
      for (const [feature, tokens, cost] of demo.usage) await recordUsage(admin, { userId, feature, tokensUsed: tokens, costUsd: cost, metadata: { seed: true } });
    });
    added.usageEvents = demo.usage.length;
  }
  return { email: demo.email, clerkId: identity.sub, userId, added };
}

/** Seeds the demo users (idempotent). */
export async function seedDemoData(databases: Databases, usagePartitionsAhead: number): Promise<SeededUser[]> {
  await databases.platform.withPlatformAdmin((admin) => ensureUsagePartitions(admin, usagePartitionsAhead));
  const seeded: SeededUser[] = [];
  for (const demo of DEMO_USERS) seeded.push(await seedUser(databases, demo));
  return seeded;
}

export async function runDevSeed(options: { json: boolean }): Promise<void> {
  const config = loadConfig();
  if (config.environment === "production") throw new Error("alwrity dev seed makes demo data and is refused when ENVIRONMENT=production");
  const seeded = await withDatabases((databases) => seedDemoData(databases, config.worker.usagePartitionsAhead), config);
  if (options.json) return console.log(JSON.stringify(seeded));
  for (const u of seeded) {
    const a = u.added;
    console.log(`${u.email} (${u.clerkId}, ${u.userId}): added ${a.projects} projects, ${a.assets} assets, ${a.personas} personas, ${a.usageEvents} usage events, ${a.planChanges} plan changes`);
  }
  console.log("\nsign in as one of them: npm run token -- ada@example.com (add --admin, with ADMIN_CLAIM set, for the admin analytics)");
}
