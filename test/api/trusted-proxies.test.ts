/**
 * The per-address limit counts the client behind a load balancer only when the
 * balancer is trusted (TRUSTED_PROXIES): a real API process that trusts nobody
 * counts every request of the TCP peer whatever X-Forwarded-For says (a
 * client cannot dodge its limit by making up addresses), and one that trusts
 * loopback (where these requests come from) counts the address the header
 * gives, read from the right (a client's own, made-up entries on the left
 * are not believed). A malformed TRUSTED_PROXIES stops the start with a
 * message naming it.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";

const PER_ADDRESS = 3;
let untrusting: ApiProcess;
let trusting: ApiProcess;

beforeAll(async () => {
  const env = { ...deploymentEnv(), WORKER_IN_PROCESS: "false", RATE_LIMIT_PER_ADDRESS: String(PER_ADDRESS) };
  [untrusting, trusting] = await Promise.all([startApiProcess(env), startApiProcess({ ...env, TRUSTED_PROXIES: "127.0.0.1/8, ::1" })]);
}, 120_000);

afterAll(async () => {
  await untrusting?.kill();
  await trusting?.kill();
});

async function anonymous(api: ApiProcess, forwardedFor: string): Promise<number> {
  const response = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  await response.text();
  return response.status;
}

test("from a peer that is not a trusted proxy, X-Forwarded-For is ignored: made-up addresses share the peer's limit", async () => {
  const statuses = [];
  for (let i = 1; i <= PER_ADDRESS + 1; i++) statuses.push(await anonymous(untrusting, `198.51.100.${i}`));
  expect(statuses).toEqual([...Array<number>(PER_ADDRESS).fill(200), 429]);
});

test("from a trusted proxy, the address X-Forwarded-For gives is counted, read from the right", async () => {
  const statuses = [];
  // The client made up the left-hand entries; the proxy appended what it saw (the right-hand one).
  for (let i = 1; i <= PER_ADDRESS + 1; i++) statuses.push(await anonymous(trusting, `10.9.9.${i}, 203.0.113.7`));
  expect(statuses).toEqual([...Array<number>(PER_ADDRESS).fill(200), 429]);
  // Another client behind the same proxy has a limit of its own; a trusted hop on the right is skipped.
  expect(await anonymous(trusting, "203.0.113.8")).toBe(200);
  expect(await anonymous(trusting, "203.0.113.9, 127.0.0.5")).toBe(200);
});

test("a malformed TRUSTED_PROXIES is refused at start-up, naming the variable", async () => {
  expect(() => loadConfig({ ENVIRONMENT: "test", TRUSTED_PROXIES: "10.0.0.0/8, not-an-address" })).toThrow(/TRUSTED_PROXIES must be .*"not-an-address"/);
  expect(() => loadConfig({ ENVIRONMENT: "test", TRUSTED_PROXIES: "10.0.0.0/33" })).toThrow(/TRUSTED_PROXIES/);
  await expect(startApiProcess({ ...deploymentEnv(), TRUSTED_PROXIES: "300.1.1.1" })).rejects.toThrow(/TRUSTED_PROXIES must be/);
}, 60_000);
