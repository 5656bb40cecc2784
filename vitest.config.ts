import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // ALWRITY_TEST_CANARY=1: only the test that must fail (.ci/run proves with it that the gate can go red).
    include: process.env.ALWRITY_TEST_CANARY ? ["test/canary/must-fail.canary.ts"] : ["test/**/*.test.ts"],
    // The benchmark's smoke run is `npm run test:bench` (vitest.bench.config.ts), a CI step of its own:
    // it was a quarter of this run's time.
    exclude: [...configDefaults.exclude, "test/bench/smoke.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Database tests hold connections; two workers match this machine's two cores.
    maxWorkers: 2,
  },
});
