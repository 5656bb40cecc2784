/** A user's projects. Each function runs in the caller's session as the user: RLS keeps each user to their own rows. */
import type { UserSession } from "../db/session.ts";
import * as q from "../../generated/user_data/projects.queries.ts";
import { jsonb, patchFields, run, single } from "./run-query.ts";

type Session = UserSession<"userData">;

/** The fields of a project a patch may set; absent ones keep their value, null sets null. */
export type ProjectPatch = Partial<Omit<q.IUpdateProjectParams, "id" | "fields">>;

/** The user's projects, newest first; archived ones only when asked for. */
export function listProjects(session: Session, options: { includeArchived?: boolean } = {}) {
  return run(session, q.listProjects, { includeArchived: options.includeArchived ?? false });
}

export async function createProject(session: Session, params: q.ICreateProjectParams) {
  return single(await run(session, q.createProject, { ...params, projectMetadata: jsonb(params.projectMetadata) }), "create project");
}

/** Changes the fields the patch names; null when the user has no such project. */
export async function updateProject(session: Session, id: string, patch: ProjectPatch) {
  const params = { ...patch, id, fields: patchFields(patch), projectMetadata: jsonb(patch.projectMetadata) };
  return (await run(session, q.updateProject, params))[0] ?? null;
}

/** Deletes a project and its assets; false when the user has no such project. */
export async function deleteProject(session: Session, id: string) {
  return (await run(session, q.deleteProject, { id })).length > 0;
}
