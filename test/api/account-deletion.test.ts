/**
 * A user deletes their own account through the API: from that moment no
 * token of theirs is accepted, not even one that worked a request earlier
 * (the account cache does not outlive the request), and the erasure is
 * enqueued in the same transaction.
 */
import { randomUUID } from "node:crypto";
import { fileClient } from "../support/connect.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { testDeployment } from "../support/test-deployment.ts";

const platformOwner = fileClient(() => testDeployment().databases.platform.migrationUrl);

const run = randomUUID().slice(0, 8);
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

test("after deletion is requested, a valid token of that user gets 401 on its very next request", async () => {
  const token = api.token({ sub: `user_leaving_${run}` });
  const other = api.token({ sub: `user_staying_${run}` });
  const before = await api.gql("{ currentUser { rowId } }", {}, token);
  expect(before.status).toBe(200);
  const userId = before.data.currentUser.rowId as string;
  // Cached now: the next request would touch no database but for the revocation.
  expect((await api.gql("{ currentUser { rowId } }", {}, token)).status).toBe(200);
  expect((await api.gql("{ currentUser { rowId } }", {}, other)).status).toBe(200);

  const deleted = await api.gql("mutation { requestAccountDeletion(input: {}) { result } }", {}, token);
  expect(deleted.errors).toBeUndefined();
  expect(deleted.data.requestAccountDeletion.result).toEqual(expect.any(String));

  const after = await api.gql("{ currentUser { rowId } }", {}, token);
  expect(after.status).toBe(401);
  expect(after.errors?.[0]?.extensions?.reason).toBe("account-deleted");
  // A fresh token of the same user is refused as well; another user is not affected.
  expect((await api.gql("{ projects { totalCount } }", {}, api.token({ sub: `user_leaving_${run}` }))).status).toBe(401);
  expect((await api.gql("{ currentUser { rowId } }", {}, other)).status).toBe(200);

  const { rows } = await platformOwner().query(
    `select d.state, d.requested_by, (select count(*)::int from graphile_worker._private_jobs j where j.key = 'erase_user:' || d.user_id) as jobs
       from platform_backend.account_deletions d where d.user_id = $1`,
    [userId],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0].requested_by).toBe("user");
  // A worker of another test file may already have taken the job; until it completes, the job is there.
  if (rows[0].state !== "completed") expect(rows[0].jobs).toBe(1);
});

test("the process that took the deletion refuses the very next request without waiting for its own notification", async () => {
  // A revocation listener that is connected but hears nothing: the cache is on, and only the
  // deletion's own request can clear it (as when the notification is late on a loaded machine).
  const deaf = await startTestApi({}, (databases) => ({
    ...databases,
    listen: (_key, _channel, handlers) => {
      handlers.onListening?.(true);
      return { close: async () => undefined };
    },
  }));
  try {
    const token = deaf.token({ sub: `user_deaf_${run}` });
    for (let i = 0; i < 2; i++) expect((await deaf.gql("{ currentUser { rowId } }", {}, token)).status).toBe(200);
    expect((await deaf.gql("mutation { requestAccountDeletion(input: {}) { result } }", {}, token)).errors).toBeUndefined();
    const after = await deaf.gql("{ currentUser { rowId } }", {}, token);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.reason).toBe("account-deleted");
  } finally {
    await deaf.stop();
  }
});
