/**
 * A profile is one per user: updateCurrentProfile changes the signed-in
 * user's own profile without naming any id, with the same patch meaning as
 * every other update (given fields set, to null too; absent ones kept), and
 * an anonymous request changes nothing.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";

let api: TestApi;
const run = randomUUID().slice(0, 8);
let ada: string;
let bob: string;

const UPDATE = `mutation ($patch: ProfilePatch!) {
  updateCurrentProfile(input: { patch: $patch, clientMutationId: "m1" }) { clientMutationId profile { businessName industry userId } }
}`;
const MINE = `{ currentUser { rowId } currentProfile { businessName industry userId } }`;

beforeAll(async () => {
  api = await startTestApi();
  ada = api.token({ sub: `user_ada_${run}`, email: `ada-${run}@example.com` });
  bob = api.token({ sub: `user_bob_${run}`, email: `bob-${run}@example.com` });
});
afterAll(() => api?.stop());

test("the signed-in user updates their own profile without an id; absent fields keep, null clears", async () => {
  const first = await api.gql(UPDATE, { patch: { businessName: "Ada Ltd", industry: "Engines" } }, ada);
  expect(first.errors).toBeUndefined();
  const me = await api.gql(MINE, {}, ada);
  expect(first.data.updateCurrentProfile).toEqual({
    clientMutationId: "m1",
    profile: { businessName: "Ada Ltd", industry: "Engines", userId: me.data.currentUser.rowId },
  });

  const second = await api.gql(UPDATE, { patch: { industry: null } }, ada);
  expect(second.data.updateCurrentProfile.profile).toMatchObject({ businessName: "Ada Ltd", industry: null });
});

test("another user's update changes only their own profile", async () => {
  await api.gql(UPDATE, { patch: { businessName: "Bob & Co" } }, bob);
  expect((await api.gql(MINE, {}, ada)).data.currentProfile.businessName).toBe("Ada Ltd");
  expect((await api.gql(MINE, {}, bob)).data.currentProfile.businessName).toBe("Bob & Co");
});

test("an anonymous request updates nothing", async () => {
  const response = await api.gql(UPDATE, { patch: { businessName: "Nobody" } });
  expect(response.data?.updateCurrentProfile ?? null).toBeNull();
  expect(response.errors?.length).toBeGreaterThan(0);
  expect((await api.gql(MINE, {}, ada)).data.currentProfile.businessName).toBe("Ada Ltd");
});
