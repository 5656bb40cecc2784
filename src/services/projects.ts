/** A user's projects. Every function runs as the user: RLS keeps each user to their own rows. */
import type { UserScopedDatabase } from "../db/database.ts";
import * as q from "../../generated/user_data/projects.queries.ts";
import { asUser, jsonb, single } from "./run-query.ts";

/** The user's projects, newest first; archived ones only when asked for. */
export function listProjects(db: UserScopedDatabase, userId: string, options: { includeArchived?: boolean } = {}) {
  return asUser(db, userId, q.listProjects, { includeArchived: options.includeArchived ?? false });
}

export async function createProject(db: UserScopedDatabase, userId: string, params: q.ICreateProjectParams) {
  return single(await asUser(db, userId, q.createProject, { ...params, projectMetadata: jsonb(params.projectMetadata) }), "create project");
}

/** Changes the fields given; null when the user has no such project. */
export async function updateProject(db: UserScopedDatabase, userId: string, params: q.IUpdateProjectParams) {
  return (await asUser(db, userId, q.updateProject, { ...params, projectMetadata: jsonb(params.projectMetadata) }))[0] ?? null;
}

/** Deletes a project and its assets; false when the user has no such project. */
export async function deleteProject(db: UserScopedDatabase, userId: string, id: string) {
  return (await asUser(db, userId, q.deleteProject, { id })).length > 0;
}
