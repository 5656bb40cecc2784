#!/usr/bin/env node
/**
 * `npm run bench:rate-limit-store`: what one rate-limit count costs in each
 * RATE_LIMIT_STORE, side by side in one run on one throw-away embedded server:
 * consume() latency (p50, p99) in memory, in PostgreSQL directly, and in
 * PostgreSQL through PgBouncer in transaction mode (the pooler case). Each
 * store is timed sequentially (one request at a time: the cost a request
 * pays) and with 8 at once (the cost under load), the stores interleaved
 * round by round so a change of load on a shared machine hits all of them.
 * Bounded: ROUNDS × (SEQUENTIAL + CONCURRENT) counts per store.
 */
import "./production-mode.ts";
import { createRateLimits, type SharedStore } from "../src/api/http/rate-limits.ts";
import { initDatabases } from "../src/bootstrap/init-databases.ts";
import { loadConfig, type RateLimitSettings } from "../src/config.ts";
import { createDatabases, type Databases } from "../src/db/databases.ts";
import { startPgbouncer } from "../test/support/pgbouncer.ts";
import { summarize } from "./stats.ts";

const ROUNDS = 5;
const SEQUENTIAL = 200;
const CONCURRENT = 8;
const PER_WORKER = 50;

const quiet = () => undefined;
const config = loadConfig({ ENVIRONMENT: "test", DB_POOL_SIZE: "10", DB_MAX_OVERFLOW: "0" });
const settings = (store: RateLimitSettings["store"]): RateLimitSettings => ({ ...config.api.rateLimits, store, perUser: 1e9 });
const shared = (databases: Databases): SharedStore => ({ databases, log: quiet, onStoreFailure: () => console.error("store failure") });

const databases = await initDatabases(config, { logger: quiet });
const { deployment } = databases;
const bouncer = await startPgbouncer([deployment.platform.apiUrl], 10);
const pooled = createDatabases(
  { ...deployment, platform: { ...deployment.platform, apiUrl: bouncer.through(deployment.platform.apiUrl) } },
  { ...config, pool: { ...config.pool, size: 10, maxOverflow: 0 } },
  { logger: quiet },
);
try {
  const stores = {
    memory: createRateLimits(settings("memory")),
    "postgres direct": createRateLimits(settings("postgres"), quiet, shared(databases)),
    "postgres via PgBouncer": createRateLimits(settings("postgres"), quiet, shared(pooled)),
  };
  const samples = Object.fromEntries(Object.keys(stores).map((k) => [k, { sequential: [] as number[], concurrent: [] as number[] }]));
  const timed = async (limits: (typeof stores)["memory"], user: string, into: number[]) => {
    const t = performance.now();
    await limits.user(user);
    into.push(performance.now() - t);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, limits] of Object.entries(stores)) {
      const into = samples[name]!;
      for (let i = 0; i < SEQUENTIAL; i++) await timed(limits, `bench-user-${i % 20}`, into.sequential);
      await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, w) => {
          for (let i = 0; i < PER_WORKER; i++) await timed(limits, `bench-user-${w}-${i % 5}`, into.concurrent);
        }),
      );
    }
  }
  const ms = (v: number) => v.toFixed(3).padStart(8);
  console.log(`consume() latency in ms, ${ROUNDS} rounds of ${SEQUENTIAL} sequential and ${CONCURRENT}×${PER_WORKER} concurrent per store`);
  console.log(`${"store".padEnd(24)} ${"seq p50".padStart(8)} ${"seq p99".padStart(8)} ${"8× p50".padStart(8)} ${"8× p99".padStart(8)}`);
  for (const [name, { sequential, concurrent }] of Object.entries(samples)) {
    const s = summarize(sequential);
    const c = summarize(concurrent);
    console.log(`${name.padEnd(24)} ${ms(s.p50)} ${ms(s.p99)} ${ms(c.p50)} ${ms(c.p99)}`);
  }
} finally {
  await pooled.close();
  await bouncer.stop();
  await databases.close();
}
