/** A user's AI writing personas. Each function runs in the caller's session as the user: RLS keeps each user to their own rows. */
import type { UserSession } from "../db/session.ts";
import * as q from "../../generated/user_data/personas.queries.ts";
import { jsonb, patchFields, run, single } from "./run-query.ts";

type Session = UserSession<"userData">;

/** The fields of a persona a patch may set; absent ones keep their value, null sets null. */
export type PersonaPatch = Partial<Omit<q.IUpdatePersonaParams, "id" | "fields">>;

export function listPersonas(session: Session) {
  return run(session, q.listPersonas, undefined);
}

export async function createPersona(session: Session, params: q.ICreatePersonaParams) {
  return single(await run(session, q.createPersona, { ...params, characteristics: jsonb(params.characteristics) }), "create persona");
}

/** Changes the fields the patch names; null when the user has no such persona. */
export async function updatePersona(session: Session, id: string, patch: PersonaPatch) {
  const params = { ...patch, id, fields: patchFields(patch), characteristics: jsonb(patch.characteristics) };
  return (await run(session, q.updatePersona, params))[0] ?? null;
}

/** false when the user has no such persona. */
export async function deletePersona(session: Session, id: string) {
  return (await run(session, q.deletePersona, { id })).length > 0;
}
