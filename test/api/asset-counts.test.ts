/**
 * totalCount of all a user's assets comes from user_asset_counts (kept by the
 * assets' triggers, db/user_data 000009; src/api/graphql/asset-counts.ts), in
 * constant time; any other connection still counts its rows. The count must
 * stay exact when one user's writers race each other, including a delete of
 * the last asset against an insert.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import { connect } from "../support/connect.ts";
import { databasesFor, newUser, sharedEndpoints } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { startTestApi, type TestApi } from "./api-harness.ts";

const run = randomUUID().slice(0, 8);
let api: TestApi;
let token: string;
let userId: string;
let projectId: string;

const CREATE_PROJECT = `mutation { createProject(input: { project: { projectName: "counted", projectType: BLOG } }) { project { rowId userId } } }`;
const CREATE_ASSET = `mutation ($projectId: UUID!, $type: AssetType!, $title: String!) {
  createAsset(input: { asset: { projectId: $projectId, assetType: $type, title: $title } }) { asset { rowId } } }`;
const COUNTS = `{
  all: assets(first: 1, orderBy: CREATED_AT_DESC) { totalCount }
  posts: assets(condition: { assetType: BLOG_POST }) { totalCount }
  projects { nodes { assets { totalCount } } } }`;

async function counts() {
  const { data, errors } = await api.gql(COUNTS, {}, token);
  expect(errors).toBeUndefined();
  return { all: data.all.totalCount, posts: data.posts.totalCount, inProject: data.projects.nodes[0].assets.totalCount };
}

const ownerOfUserData = () => testDeployment().databases.userData.migrationUrl;

beforeAll(async () => {
  api = await startTestApi();
  token = api.token({ sub: `user_counts_${run}` });
  const project = await api.gql(CREATE_PROJECT, {}, token);
  expect(project.errors).toBeUndefined();
  ({ rowId: projectId, userId } = project.data.createProject.project);
});
afterAll(() => api?.stop());

test("totalCount of all a user's assets, of a condition and of a project, through creates and deletes", async () => {
  expect(await counts()).toEqual({ all: 0, posts: 0, inProject: 0 });
  for (const [i, type] of ["BLOG_POST", "BLOG_POST", "BLOG_POST", "SOCIAL_POST"].entries()) {
    const made = await api.gql(CREATE_ASSET, { projectId, type, title: `asset ${i}` }, token);
    expect(made.errors).toBeUndefined();
  }
  expect(await counts()).toEqual({ all: 4, posts: 3, inProject: 4 });
  const deleted = await api.gql(`mutation { deleteAsset(input: { rowId: "${(await api.gql("{ assets(first: 1, condition: { assetType: SOCIAL_POST }) { nodes { rowId } } }", {}, token)).data.assets.nodes[0].rowId}" }) { asset { rowId } } }`, {}, token);
  expect(deleted.errors).toBeUndefined();
  expect(await counts()).toEqual({ all: 3, posts: 3, inProject: 3 });
});

test("only the connection of all a user's assets reads the kept count; a condition or a project counts rows", async () => {
  // Set the kept count wrong on purpose (as the owner): only the unconditioned connection shows it.
  const real = (await counts()).all;
  await connect(ownerOfUserData(), (owner) => owner.query("update user_data.user_asset_counts set assets = 777 where user_id = $1", [userId]));
  try {
    expect(await counts()).toEqual({ all: 777, posts: real, inProject: real });
  } finally {
    await connect(ownerOfUserData(), (owner) => owner.query("update user_data.user_asset_counts set assets = $2 where user_id = $1", [userId, real]));
  }
  expect((await counts()).all).toBe(real);
});

test("eight writers of one user racing inserts and deletes (down to none and back) leave the count exact", async () => {
  const databases: Databases = databasesFor(sharedEndpoints(), { size: 8, maxOverflow: 0 });
  try {
    const user = await newUser(databases);
    const [project] = (
      await databases.userData.withUserContext(user, (s) =>
        s.query<{ id: string }>("insert into user_data.user_projects (project_name, project_type) values ('race', 'blog') returning id"),
      )
    ).rows;
    const insert = (n: number) =>
      databases.userData.withUserContext(user, (s) =>
        s.query("insert into user_data.user_content_assets (project_id, asset_type, title) select $1, 'blog_post', 'r' || g from generate_series(1, $2::int) g", [project!.id, n]),
      );
    const deleteSome = (n: number) =>
      databases.userData.withUserContext(user, (s) =>
        s.query("delete from user_data.user_content_assets where id in (select id from user_data.user_content_assets order by random() limit $1)", [n]),
      );
    const exact = async () => {
      const row = await connect(ownerOfUserData(), async (owner) =>
        (
          await owner.query<{ kept: string | null; real: string }>(
            `select (select assets from user_data.user_asset_counts where user_id = $1) as kept,
                    (select count(*) from user_data.user_content_assets where user_id = $1) as real`,
            [user],
          )
        ).rows[0]!,
      );
      return { kept: Number(row.kept ?? 0), real: Number(row.real), rowLeftAtZero: row.real === "0" && row.kept !== null };
    };
    for (let round = 0; round < 12; round++) {
      // Each round: eight writers at once, half adding, half deleting; every third round deletes everything.
      await Promise.all(Array.from({ length: 8 }, (_, w) => (w % 2 === 0 ? insert(1 + ((round + w) % 3)) : deleteSome(round % 3 === 2 ? 1000 : 2))));
      const seen = await exact();
      expect(seen.kept).toBe(seen.real);
      expect(seen.rowLeftAtZero).toBe(false);
    }
  } finally {
    await databases.close();
  }
});
