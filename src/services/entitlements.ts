/**
 * Entitlements: the limits of a user's plan, carried from the platform
 * database to the user-data database, where triggers enforce them. The
 * sync_entitlements job (enqueued in the transaction of every subscription
 * change) and the full resync both run syncEntitlements: it reads the plan as
 * it is now, writes it through the worker's backend function (which keeps the
 * highest version, so syncs may run in any order and any number of times),
 * and records on the platform what the user's data held then (the over-limit
 * report). An account being erased keeps nothing there: its entitlements are
 * removed instead (the erasure's own end enqueues one last sync).
 */
import type { Databases } from "../db/databases.ts";
import { accountIsErased, allUserIds, entitlementsOf, recordEntitlementSync } from "../../generated/platform/billing.queries.ts";
import { applyEntitlements, forgetEntitlements } from "../../generated/user_data/entitlements.queries.ts";
import { run, single } from "./run-query.ts";

export interface SyncOutcome {
  /** True when the account is being erased: its entitlements were removed, not written. */
  readonly erased: boolean;
  readonly plan: string;
  readonly version: number;
  /** False when the user-data database already held a newer version. */
  readonly applied: boolean;
  readonly projects: number;
  readonly personas: number;
  readonly overLimit: boolean;
}

export async function syncEntitlements(databases: Pick<Databases, "platform" | "userData">, userId: string): Promise<SyncOutcome> {
  const { wanted, erasing } = await databases.platform.withPlatformAdmin(async (admin) => ({
    wanted: single(await run(admin, entitlementsOf, { userId }), "entitlements_of"),
    erasing: single(await run(admin, accountIsErased, { userId }), "account_deletions").erasing,
  }));
  const version = Number(wanted.version);
  if (erasing) {
    await databases.userData.withWorker((worker) => run(worker, forgetEntitlements, { userId }));
    return { erased: true, plan: wanted.plan_name, version, applied: false, projects: 0, personas: 0, overLimit: false };
  }
  const stored = await databases.userData.withWorker(async (worker) =>
    single(
      await run(worker, applyEntitlements, {
        userId,
        planName: wanted.plan_name,
        maxProjects: wanted.max_projects,
        maxPersonas: wanted.max_personas,
        monthlyTokens: wanted.monthly_tokens,
        version: String(version),
      }),
      "apply_entitlements",
    ),
  );
  const projects = Number(stored.projects);
  const personas = Number(stored.personas);
  const recorded = await databases.platform.withPlatformAdmin(async (admin) =>
    run(admin, recordEntitlementSync, { userId, version: String(version), projects: String(projects), personas: String(personas) }),
  );
  const overLimit = recorded[0]?.over_limit ?? false;
  return { erased: false, plan: wanted.plan_name, version, applied: stored.applied, projects, personas, overLimit };
}

/** Syncs every account (erased ones aside), one user at a time; answers how many and how many are over a limit. */
export async function resyncAllEntitlements(databases: Pick<Databases, "platform" | "userData">, onUser?: (userId: string, outcome: SyncOutcome) => void) {
  const ids = await databases.platform.withPlatformAdmin((admin) => run(admin, allUserIds, undefined));
  let overLimit = 0;
  for (const { id } of ids) {
    const outcome = await syncEntitlements(databases, id);
    if (outcome.overLimit) overLimit += 1;
    onUser?.(id, outcome);
  }
  return { users: ids.length, overLimit };
}
