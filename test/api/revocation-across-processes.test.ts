/**
 * Two real API processes on the same databases, as behind a load balancer:
 * a user whose account both have cached deletes it through one, and the
 * other refuses their token on its very next request (LISTEN
 * alwrity_account_revoked drops the account from every process's cache when
 * the deletion commits). Several users in a row, so a lucky ordering cannot
 * pass it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateClerkKeyPair } from "../../src/api/auth/dev-keys.ts";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";

const run = randomUUID().slice(0, 8);
const USERS = 5;
let first: ApiProcess;
let second: ApiProcess;

beforeAll(async () => {
  // Both trust the same Clerk key, as every process of one deployment does.
  const keys = generateClerkKeyPair();
  const env = { ...deploymentEnv(), WORKER_IN_PROCESS: "false" };
  [first, second] = await Promise.all([startApiProcess(env, keys), startApiProcess(env, keys)]);
}, 120_000);

afterAll(async () => {
  await first?.kill();
  await second?.kill();
});

test("a deletion requested through one API process refuses the user's token on the other's very next request", async () => {
  const bystander = first.token(`user_bystander_${run}`);
  for (let i = 0; i < USERS; i++) {
    const token = first.token(`user_leaving_${i}_${run}`);
    // Warm both caches: after the first request each process answers this token from memory.
    for (const api of [first, second, first, second]) {
      const answer = await gql(api.url, "{ currentUser { rowId } }", token);
      expect(answer.status, api.output()).toBe(200);
    }
    const deleted = await gql(first.url, "mutation { requestAccountDeletion(input: {}) { result } }", token);
    expect(deleted.body?.errors).toBeUndefined();

    const next = await gql(second.url, "{ currentUser { rowId } }", token);
    expect(next.status, `user ${i}: the other process still accepted the token`).toBe(401);
    expect(next.body?.errors?.[0]?.extensions?.reason).toBe("account-deleted");
    expect((await gql(first.url, "{ currentUser { rowId } }", token)).status).toBe(401);
    // Nobody else is signed out.
    expect((await gql(second.url, "{ currentUser { rowId } }", bystander)).status).toBe(200);
  }
}, 120_000);
