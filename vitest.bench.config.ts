import { defineConfig } from "vitest/config";

// `npm run test:bench`: the benchmark's smoke run, a CI step of its own (.ci/run) after the suites.
// It starts its own servers (bench/servers.ts), so it needs no test deployment (no globalSetup),
// and it keeps both cores busy, so its files run one at a time.
export default defineConfig({
  test: {
    include: ["test/bench/smoke.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
