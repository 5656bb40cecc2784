/** A user's AI writing personas. Every function runs as the user: RLS keeps each user to their own rows. */
import type { UserScopedDatabase } from "../db/database.ts";
import * as q from "../../generated/user_data/personas.queries.ts";
import { asUser, jsonb, single } from "./run-query.ts";

export function listPersonas(db: UserScopedDatabase, userId: string) {
  return asUser(db, userId, q.listPersonas, undefined);
}

export async function createPersona(db: UserScopedDatabase, userId: string, params: q.ICreatePersonaParams) {
  return single(await asUser(db, userId, q.createPersona, { ...params, characteristics: jsonb(params.characteristics) }), "create persona");
}

/** Changes the fields given; null when the user has no such persona. */
export async function updatePersona(db: UserScopedDatabase, userId: string, params: q.IUpdatePersonaParams) {
  return (await asUser(db, userId, q.updatePersona, { ...params, characteristics: jsonb(params.characteristics) }))[0] ?? null;
}

/** false when the user has no such persona. */
export async function deletePersona(db: UserScopedDatabase, userId: string, id: string) {
  return (await asUser(db, userId, q.deletePersona, { id })).length > 0;
}
