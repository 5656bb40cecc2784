import { defineConfig } from "vitest/config";

/**
 * `npm run test:probes`: the fault and load probes (`test/**\/*.probe.ts`). Each
 * proves a guarantee the hard way: it kills or signals a real process (SIGKILL,
 * SIGTERM), restarts or fills a server, starts servers of its own (a PostgreSQL 15
 * cluster, PgBouncer, `npm start`), or holds load for seconds. That makes them the
 * slow half of the tests, so `npm test` leaves them out; `npm run test:all` (CI)
 * runs them on the same kind of shared test deployment.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.probe.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
