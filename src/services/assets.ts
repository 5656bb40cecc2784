/** A user's content assets. Each function runs in the caller's session as the user: RLS keeps each user to their own rows. */
import type { UserSession } from "../db/session.ts";
import * as q from "../../generated/user_data/assets.queries.ts";
import { jsonb, run, single } from "./run-query.ts";

type Session = UserSession<"userData">;

export const MAX_PAGE_SIZE = 100;

/** One page (from 1) of a project's assets, newest first. */
export function listProjectAssets(session: Session, projectId: string, page = { number: 1, size: 20 }) {
  if (!Number.isInteger(page.number) || page.number < 1 || !Number.isInteger(page.size) || page.size < 1 || page.size > MAX_PAGE_SIZE) {
    throw new RangeError(`a page needs a number from 1 and a size from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(page)}`);
  }
  return run(session, q.listProjectAssets, { projectId, limit: page.size, offset: (page.number - 1) * page.size });
}

export async function createAsset(session: Session, params: q.ICreateAssetParams) {
  return single(await run(session, q.createAsset, { ...params, seoData: jsonb(params.seoData) }), "create asset");
}

/** false when the user has no such asset. */
export async function deleteAsset(session: Session, id: string) {
  return (await run(session, q.deleteAsset, { id })).length > 0;
}
