import { defineConfig } from "vitest/config";

/**
 * `npm run test:ha`: the failover test (test/ha/*.ha.ts) on a high-availability
 * cluster of its own (etcd, two Patroni members, HAProxy). It takes minutes and
 * kills PostgreSQL on purpose, so it is not part of `npm test`; .ci/run runs it
 * as a step of its own. No global setup: it provisions its own deployment.
 */
export default defineConfig({
  test: {
    include: ["test/ha/**/*.ha.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
  },
});
