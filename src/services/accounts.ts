/** Accounts and plans: registering a Clerk user, their subscription, plan changes. Each runs in the caller's session. */
import type { AdminSession, UserSession } from "../db/session.ts";
import { changePlan as changePlanQuery, currentSubscription as currentSubscriptionQuery, type IChangePlanParams } from "../../generated/platform/subscriptions.queries.ts";
import { findOrCreateUser as findOrCreateUserQuery, renameFromClerk as renameFromClerkQuery, userIdOf as userIdOfQuery, type IFindOrCreateUserParams } from "../../generated/platform/users.queries.ts";
import { run, single } from "./run-query.ts";

/**
 * Finds or creates a Clerk user's account (as platform admin); a new account starts on the Free plan.
 * The display name given only fills an empty one: a name the user set is theirs.
 */
export async function findOrCreateUser(session: AdminSession, params: IFindOrCreateUserParams) {
  return single(await run(session, findOrCreateUserQuery, params), "register_user");
}

/** Sets a user's display name to Clerk's (Clerk's user.updated webhook, the one way a name changes from Clerk). */
export async function renameFromClerk(session: AdminSession, clerkId: string, displayName: string) {
  return single(await run(session, renameFromClerkQuery, { clerkId, displayName }), "rename_from_clerk");
}

/** The signed-in user's live subscription with its plan, or null when they have none. */
export async function currentSubscription(session: UserSession<"platform">) {
  return (await run(session, currentSubscriptionQuery, undefined))[0] ?? null;
}

/** Moves a user to another plan (as platform admin, for the billing service). */
export async function changePlan(session: AdminSession, params: IChangePlanParams) {
  return single(await run(session, changePlanQuery, params), "change_subscription");
}

/** The account's id from its id or its Clerk id (as platform admin), or undefined when there is none. */
export async function userIdOf(session: AdminSession, idOrClerkId: string): Promise<string | undefined> {
  return (await run(session, userIdOfQuery, { who: idOrClerkId }))[0]?.id;
}
