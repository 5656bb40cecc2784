/**
 * The shared rate-limit store (RATE_LIMIT_STORE=postgres) on the test
 * server: two limiters over the same platform database (as two API processes
 * have) count one client together; the table is reached as the platform admin
 * and no API role of a request can read it; and while the store is
 * unreachable each count is taken by the process alone (the limit still
 * refuses), counted in the metric and told once in the log.
 */
import { randomUUID } from "node:crypto";
import { afterAll, expect, test } from "vitest";
import { createRateLimits, RateLimitedError } from "../../src/api/http/rate-limits.ts";
import type { RateLimitSettings } from "../../src/config.ts";
import { unreachable } from "../support/closed-port.ts";
import { databasesFor, newUser, sharedEndpoints } from "../support/databases.ts";

const endpoints = sharedEndpoints();
const databases = databasesFor(endpoints);
afterAll(() => databases.close());

const settings: RateLimitSettings = { store: "postgres", windowSeconds: 600, perUser: 4, perAddress: 4, registrationsPerAddress: 4, exportsPerUser: 4 };
const quiet = () => undefined;

test("two limiters on the same platform database count one user together: the request over the limit is refused by either", async () => {
  const failures: string[] = [];
  const shared = { databases, log: quiet, onStoreFailure: () => failures.push("failure") };
  const one = createRateLimits(settings, quiet, shared);
  const other = createRateLimits(settings, quiet, shared);
  const user = randomUUID();
  for (const limits of [one, other, one, other]) await limits.user(user);
  await expect(one.user(user)).rejects.toBeInstanceOf(RateLimitedError);
  await expect(other.user(user)).rejects.toThrow(/RATE_LIMIT_PER_USER/);
  // Someone else is not affected.
  await one.user(randomUUID());
  expect(failures).toEqual([]);
});

test("the store's table is the platform admin's: a signed-in user's transaction cannot read it", async () => {
  const userId = await newUser(databases);
  await expect(databases.platform.withUserContext(userId, (s) => s.query("select * from platform_backend.rate_limits"))).rejects.toThrow(/permission denied/);
  await expect(databases.platform.withPlatformAdmin((s) => s.query("select count(*) from platform_backend.rate_limits"))).resolves.toBeDefined();
});

test("with the store unreachable, each count is the process's own: the limit still refuses, every failure is counted, the log tells it once", async () => {
  const broken = databasesFor({ ...endpoints, platform: { ...endpoints.platform, apiUrl: await unreachable(endpoints.platform.apiUrl) } });
  try {
    let failures = 0;
    const lines: string[] = [];
    const limits = createRateLimits(settings, quiet, { databases: broken, log: (event) => lines.push(event), onStoreFailure: () => failures++ });
    const user = randomUUID();
    for (let i = 0; i < settings.perUser; i++) await limits.user(user);
    await expect(limits.user(user)).rejects.toBeInstanceOf(RateLimitedError);
    expect(failures).toBe(settings.perUser + 1);
    expect(lines).toEqual(["rate_limit_store_unavailable"]);
  } finally {
    await broken.close();
  }
});
