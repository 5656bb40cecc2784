/**
 * A server with no connection slot left is busy, not away: "remaining
 * connection slots are reserved …" and "sorry, too many clients already"
 * (SQLSTATE 53300) are answered with DATABASE_BUSY. The errors come from a
 * real PostgreSQL 15 cluster of the test's own whose max_connections is
 * filled by connections the test holds, taken through the project's own
 * checkout (src/db/pools.ts) as a request would take them.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { unavailability } from "../../src/api/http/database-unavailable.ts";
import { checkout, createPool } from "../../src/db/pools.ts";
import { createPg15Cluster, type Pg15Cluster } from "../support/pg15-cluster.ts";

let cluster: Pg15Cluster;
const held: pg.Client[] = [];

beforeAll(async () => {
  cluster = await createPg15Cluster();
  // 8 slots, 3 of them kept for superusers: an ordinary role is refused after 5, a superuser after 8.
  cluster.configure(["max_connections = 8", "superuser_reserved_connections = 3"]);
  cluster.start();
  await cluster.query("create role app_login login");
}, 60_000);

afterAll(async () => {
  await Promise.all(held.map((client) => client.end().catch(() => undefined)));
  cluster?.destroy();
});

const settings = { size: 1, maxOverflow: 0, timeoutMs: 3000, recycleSeconds: 0 };
const silent = () => undefined;

/** What the project's checkout throws when it cannot get a connection from `url`. */
async function checkoutError(url: string): Promise<unknown> {
  const pool = createPool({ name: "platform", url }, settings, "server-full-test", silent);
  try {
    const client = await checkout(pool, { name: "platform", url }, settings);
    client.release();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function hold(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const client = new pg.Client(url);
    client.on("error", () => undefined);
    await client.connect();
    held.push(client);
  }
}

test("a server whose ordinary slots are taken answers DATABASE_BUSY, and so does one with no slot at all", async () => {
  const appUrl = cluster.url.replace("postgres@", "app_login@");
  await hold(appUrl, 5);

  const reserved = await checkoutError(appUrl);
  expect(String((reserved as Error)?.message)).toMatch(/remaining connection slots are reserved/);
  expect(unavailability(reserved)).toMatchObject({ code: "DATABASE_BUSY", message: expect.stringMatching(/the platform database is busy \(the server has no connection slot left\)/) });

  await hold(cluster.url, 3);
  const full = await checkoutError(cluster.url);
  expect(String((full as Error)?.message)).toMatch(/too many clients already/);
  expect(unavailability(full)?.code).toBe("DATABASE_BUSY");

  // The driver's own error, before our pool wraps it, carries the SQLSTATE.
  const direct = new pg.Client(cluster.url);
  const raw = await direct.connect().then(() => undefined, (error: unknown) => error);
  expect((raw as { code?: string }).code).toBe("53300");
  expect(unavailability(raw)?.code).toBe("DATABASE_BUSY");

  // A slot freed: the same URL connects again.
  await held.pop()!.end();
  expect(await checkoutError(cluster.url)).toBeUndefined();
});
