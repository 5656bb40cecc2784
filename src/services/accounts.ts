/** Accounts and plans: registering a Clerk user, their subscription, plan changes. */
import type { PlatformDatabase } from "../db/database.ts";
import { changePlan as changePlanQuery, currentSubscription as currentSubscriptionQuery, type IChangePlanParams } from "../../generated/platform/subscriptions.queries.ts";
import { findOrCreateUser as findOrCreateUserQuery, type IFindOrCreateUserParams } from "../../generated/platform/users.queries.ts";
import { asPlatformAdmin, asUser, single } from "./run-query.ts";

/** Finds or creates a Clerk user's account (as platform admin); a new account starts on the Free plan. */
export async function findOrCreateUser(db: PlatformDatabase, params: IFindOrCreateUserParams) {
  return single(await asPlatformAdmin(db, findOrCreateUserQuery, params), "register_user");
}

/** The user's live subscription with its plan, or null when they have none. */
export async function currentSubscription(db: PlatformDatabase, userId: string) {
  return (await asUser(db, userId, currentSubscriptionQuery, undefined))[0] ?? null;
}

/** Moves a user to another plan (as platform admin, for the billing service). */
export async function changePlan(db: PlatformDatabase, params: IChangePlanParams) {
  return single(await asPlatformAdmin(db, changePlanQuery, params), "change_subscription");
}
