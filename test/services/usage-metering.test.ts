/**
 * Quota accounting under concurrency: many connections record usage for the
 * same users at once, through the service API (record_usage). The running
 * monthly total stays exactly the sum of the logs, and a limited user never
 * goes past the limit: exactly as many events succeed as fit. On a deployment
 * of its own (the data is committed).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import { monthlyAllowance, recordUsage, UsageLimitExceededError } from "../../src/services/usage.ts";
import { fileClient } from "../support/connect.ts";
import { databasesFor, newUser, ownDeployment } from "../support/databases.ts";

const own = ownDeployment();
let databases: Databases;
const owner = fileClient(() => ({ connectionString: own().platform.migrationUrl }));
const CONNECTIONS = 20;

beforeAll(async () => {
  databases = databasesFor(own(), { size: CONNECTIONS, timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await databases?.close();
});

async function totalsAndSums(userId: string) {
  const { rows } = await owner().query<{ tokens: string; events: string; cost: string; log_tokens: string; log_events: string; log_cost: string }>(
    `select t.tokens_used as tokens, t.events, t.cost_usd as cost,
            (select sum(l.tokens_used) from platform.platform_usage_logs l where l.user_id = $1) as log_tokens,
            (select count(*) from platform.platform_usage_logs l where l.user_id = $1) as log_events,
            (select sum(l.cost_usd) from platform.platform_usage_logs l where l.user_id = $1) as log_cost
       from platform.usage_monthly_totals t where t.user_id = $1`,
    [userId],
  );
  return rows[0]!;
}

test("concurrent events for a limited user: exactly those that fit are recorded, and the total is exact", async () => {
  const userId = await newUser(databases); // Free: 50,000 tokens a month
  await databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature: "blog_writer", tokensUsed: "20500", costUsd: "0.5" }));
  // 29,500 tokens left: 29 events of 1,000 fit, 31 must be refused, whatever the interleaving.
  const outcomes = await Promise.allSettled(
    Array.from({ length: 60 }, () =>
      databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId, feature: "podcast", tokensUsed: "1000", costUsd: "0.01" })),
    ),
  );
  const refused = outcomes.filter((o) => o.status === "rejected");
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(29);
  expect(refused).toHaveLength(31);
  for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UsageLimitExceededError);
  expect(await totalsAndSums(userId)).toEqual({ tokens: "49500", events: "30", cost: "0.790000", log_tokens: "49500", log_events: "30", log_cost: "0.790000" });
  const allowance = await databases.platform.withUserContext(userId, monthlyAllowance);
  expect(allowance).toMatchObject({ tokens_used: "49500", token_limit: "50000", tokens_remaining: "500" });
}, 120_000);

test("concurrent events for unlimited users across many connections: every one counted once", async () => {
  const users = [await newUser(databases), await newUser(databases)];
  for (const userId of users) {
    await owner().query("select platform_backend.change_subscription($1, 'Enterprise')", [userId]);
  }
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      databases.platform.withPlatformAdmin((admin) => recordUsage(admin, { userId: users[i % 2]!, feature: "research", tokensUsed: String(1 + (i % 7)), costUsd: "0.001" })),
    ),
  );
  for (const userId of users) {
    const t = await totalsAndSums(userId);
    expect(t.events).toBe("100");
    expect([t.tokens, t.cost]).toEqual([t.log_tokens, t.log_cost]);
  }
  const allowance = await databases.platform.withUserContext(users[0]!, monthlyAllowance);
  expect(allowance.token_limit).toBeNull();
  expect(allowance.tokens_remaining).toBeNull();
}, 120_000);
