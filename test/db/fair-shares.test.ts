/**
 * The accounting behind fair use of a pool (src/db/fair-use.ts), on its own:
 * however many of one user's statements wait for their share, a released
 * connection lets exactly one of them through. (The HTTP tests in
 * test/api/fair-use.probe.ts and the benchmark's fairness case see the same
 * through the API; here the count is exact.)
 */
import { describe, expect, test } from "vitest";
import { FairShares, type RequestBudget } from "../../src/db/fair-use.ts";

function budget(holder: string): RequestBudget {
  return { holder, deadline: Date.now() + 10_000, signal: new AbortController().signal };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("FairShares", () => {
  test("a release wakes every waiter, but only one of them takes the freed connection", async () => {
    const shares = new FairShares("test_pool", { perRequest: 2, perUser: 1, waitMs: 5_000, poolMax: 2 });
    const heavy = budget("user-a");
    const releaseFirst = await shares.acquire(heavy);
    let through = 0;
    const releases: Array<() => void> = [];
    const waiting = Array.from({ length: 6 }, () =>
      shares.acquire(budget("user-a")).then((release) => {
        through += 1;
        releases.push(release);
      }),
    );
    await settle();
    expect(through).toBe(0);
    releaseFirst();
    await settle();
    expect(through).toBe(1);
    for (let i = 2; i <= 6; i++) {
      releases.shift()!();
      await settle();
      expect(through).toBe(i);
    }
    releases.shift()!();
    await Promise.all(waiting);
  });

  test("one request's parallel statements take at most DB_MAX_CONNECTIONS_PER_REQUEST, the rest wait their turn", async () => {
    const shares = new FairShares("test_pool", { perRequest: 2, perUser: 5, waitMs: 5_000, poolMax: 10 });
    const request = budget("user-b");
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 9 }, async () => {
        const release = await shares.acquire(request);
        running += 1;
        most = Math.max(most, running);
        await settle();
        running -= 1;
        release();
      }),
    );
    expect(most).toBe(2);
  });

  test("another user is not held back by one at their share", async () => {
    const shares = new FairShares("test_pool", { perRequest: 2, perUser: 1, waitMs: 5_000, poolMax: 2 });
    const release = await shares.acquire(budget("user-a"));
    const waiting = shares.acquire(budget("user-a"));
    const other = await shares.acquire(budget("user-c"));
    other();
    release();
    (await waiting)();
  });

  test("a waiter that cannot get its share in time is refused, naming the setting", async () => {
    const shares = new FairShares("test_pool", { perRequest: 2, perUser: 1, waitMs: 50, poolMax: 4 });
    const release = await shares.acquire(budget("user-a"));
    await expect(shares.acquire(budget("user-a"))).rejects.toThrow(/DB_MAX_USER_POOL_SHARE/);
    release();
  });
});
