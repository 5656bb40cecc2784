/**
 * The CI canary: a test that must fail. `.ci/run` runs the README's test
 * command with ALWRITY_TEST_CANARY=1 (vitest.config.ts then selects only this
 * file, behind the real global setup) and stops unless the command exits
 * non-zero: proof, on every run, that a failing test turns the gate red.
 */
import { expect, test } from "vitest";

test("the canary fails on purpose", () => {
  expect("a failing test").toBe("a red gate");
});
