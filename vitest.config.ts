import { configDefaults, defineConfig } from "vitest/config";

/**
 * `npm test`: the developer's loop, every `test/**\/*.test.ts` against one shared
 * test deployment (test/support/global-setup.ts). Probes (`*.probe.ts`: a real
 * process killed or signalled, a server restarted or of a test's own, load held
 * for seconds) are `npm run test:probes` (vitest.probes.config.ts); both, with the
 * benchmark's smoke run and the failover test, are `npm run test:all`, which CI runs.
 */
export default defineConfig({
  test: {
    // ALWRITY_TEST_CANARY=1: only the test that must fail (test/run-all.sh proves with it that the gate can go red).
    include: process.env.ALWRITY_TEST_CANARY ? ["test/canary/must-fail.canary.ts"] : ["test/**/*.test.ts"],
    // The benchmark's smoke run is `npm run test:bench` (vitest.bench.config.ts), a step of its own.
    exclude: [...configDefaults.exclude, "test/bench/smoke.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Database tests hold connections; two workers match this machine's two cores.
    maxWorkers: 2,
  },
});
