import { defineConfig } from "vitest/config";

/**
 * `npm run test:deploy`: `alwrity deploy` under load (test/deploy/*.deploy.ts) on a server
 * of its own with a million-row table and the real API process. It takes minutes, so it is
 * not part of `npm test`; .ci/run runs it as a step of its own. No global setup: it starts
 * its own server.
 */
export default defineConfig({
  test: {
    include: ["test/deploy/**/*.deploy.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
  },
});
