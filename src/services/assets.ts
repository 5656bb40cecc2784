/** A user's content assets. Every function runs as the user: RLS keeps each user to their own rows. */
import type { UserScopedDatabase } from "../db/database.ts";
import * as q from "../../generated/user_data/assets.queries.ts";
import { asUser, jsonb, single } from "./run-query.ts";

export const MAX_PAGE_SIZE = 100;

/** One page (from 1) of a project's assets, newest first. */
export function listProjectAssets(db: UserScopedDatabase, userId: string, projectId: string, page = { number: 1, size: 20 }) {
  if (!Number.isInteger(page.number) || page.number < 1 || !Number.isInteger(page.size) || page.size < 1 || page.size > MAX_PAGE_SIZE) {
    throw new RangeError(`a page needs a number from 1 and a size from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(page)}`);
  }
  return asUser(db, userId, q.listProjectAssets, { projectId, limit: page.size, offset: (page.number - 1) * page.size });
}

export async function createAsset(db: UserScopedDatabase, userId: string, params: q.ICreateAssetParams) {
  return single(await asUser(db, userId, q.createAsset, { ...params, seoData: jsonb(params.seoData) }), "create asset");
}

/** false when the user has no such asset. */
export async function deleteAsset(db: UserScopedDatabase, userId: string, id: string) {
  return (await asUser(db, userId, q.deleteAsset, { id })).length > 0;
}
