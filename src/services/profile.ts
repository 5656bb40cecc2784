/** A user's profile (one per user). Runs as the user: RLS keeps each user to their own row. */
import type { UserScopedDatabase } from "../db/database.ts";
import * as q from "../../generated/user_data/profile.queries.ts";
import { asUser, jsonb, single } from "./run-query.ts";

/** The user's profile, or null before they first save one. */
export async function getProfile(db: UserScopedDatabase, userId: string) {
  return (await asUser(db, userId, q.getProfile, undefined))[0] ?? null;
}

/** Creates the profile or changes the fields given. */
export async function saveProfile(db: UserScopedDatabase, userId: string, params: q.ISaveProfileParams) {
  const json = { contentGoals: jsonb(params.contentGoals), preferences: jsonb(params.preferences) };
  return single(await asUser(db, userId, q.saveProfile, { ...params, ...json }), "save profile");
}

/** Creates the user's empty profile unless they have one (safe to race). */
export async function ensureProfile(db: UserScopedDatabase, userId: string): Promise<void> {
  await asUser(db, userId, q.ensureProfile, undefined);
}
