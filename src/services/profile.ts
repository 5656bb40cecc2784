/** A user's profile (one per user). Runs in the caller's session as the user: RLS keeps each user to their own row. */
import type { UserSession } from "../db/session.ts";
import * as q from "../../generated/user_data/profile.queries.ts";
import { jsonb, patchFields, run, single } from "./run-query.ts";

type Session = UserSession<"userData">;

/** The fields of a profile a patch may set; absent ones keep their value, null sets null. */
export type ProfilePatch = Partial<Omit<q.ISaveProfileParams, "fields">>;

/** The user's profile, or null before they first save one. */
export async function getProfile(session: Session) {
  return (await run(session, q.getProfile, undefined))[0] ?? null;
}

/** Creates the profile or changes the fields the patch names. */
export async function saveProfile(session: Session, patch: ProfilePatch) {
  const params = { ...patch, fields: patchFields(patch), contentGoals: jsonb(patch.contentGoals), preferences: jsonb(patch.preferences) };
  return single(await run(session, q.saveProfile, params), "save profile");
}

/** Creates the user's empty profile unless they have one (safe to race). */
export async function ensureProfile(session: Session): Promise<void> {
  await run(session, q.ensureProfile, undefined);
}
