/**
 * Two real API processes on the same databases, as behind a load balancer:
 * a user whose account both have cached deletes it through one, and the
 * other refuses their token as soon as its listener has the notification
 * (LISTEN alwrity_account_revoked drops the account from every process's
 * cache when the deletion commits), and for good. The notification travels
 * beside the deletion's answer, not before it (docs/domain.md: "Revocation across API
 * processes"), so a request racing it may still be served from the cache: on
 * an idle machine the very next request is refused; on a loaded one the
 * test allows the notification REVOCATION_WINDOW_MS to arrive, polling with
 * real requests. Several users in a row, so a lucky ordering cannot pass it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateClerkKeyPair } from "../../src/api/auth/dev-keys.ts";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";

const run = randomUUID().slice(0, 8);
const USERS = 5;
/** How long a notification may take to reach the other process on a loaded 2-core machine. */
const REVOCATION_WINDOW_MS = 2_000;
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

test("a deletion requested through one API process makes the other refuse the user's token once the notification arrives, and for good", async () => {
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

    const answered = Date.now();
    let next = await gql(second.url, "{ currentUser { rowId } }", token);
    while (next.status === 200 && Date.now() - answered < REVOCATION_WINDOW_MS) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      next = await gql(second.url, "{ currentUser { rowId } }", token);
    }
    expect(next.status, `user ${i}: the other process still accepted the token ${REVOCATION_WINDOW_MS} ms after the deletion's answer`).toBe(401);
    expect(next.body?.errors?.[0]?.extensions?.reason).toBe("account-deleted");
    // And for good, in both processes.
    expect((await gql(second.url, "{ currentUser { rowId } }", token)).status).toBe(401);
    expect((await gql(first.url, "{ currentUser { rowId } }", token)).status).toBe(401);
    // Nobody else is signed out.
    expect((await gql(second.url, "{ currentUser { rowId } }", bystander)).status).toBe(200);
  }
}, 120_000);
