/**
 * Runs every pgTAP file under test/db/<database>/ against that database of the
 * deployment under test, and those under test/db/both/ against each; each
 * pgTAP assertion is one vitest test.
 */
import { describe, expect, test } from "vitest";
import { DATABASE_KEYS } from "../../src/topology.ts";
import { pgtapFiles, runPgtapFile } from "../support/pgtap-runner.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();
const files = pgtapFiles(deployment.topology);

const reports = await Promise.all(
  files.map(async (f) => ({ ...f, report: await runPgtapFile(deployment.adminUrlFor(f.key), f.path, f.placeholders) })),
);

test("there are pgTAP files for both databases", () => {
  expect(new Set(files.map((f) => f.key))).toEqual(new Set(DATABASE_KEYS));
});

for (const { label, report } of reports) {
  describe(label, () => {
    test("runs to completion and runs every planned assertion", () => {
      expect(report.error, report.error).toBeUndefined();
      expect(report.plan, "the file must declare a plan").toBeGreaterThan(0);
      expect(report.assertions.length, report.comments.join("\n")).toBe(report.plan);
    });
    for (const a of report.assertions) {
      const run = a.directive === "SKIP" ? test.skip : test;
      run(`${a.number} - ${a.description}`, () => {
        if (!a.ok && a.directive !== "TODO") throw new Error(`not ok ${a.number} - ${a.description}\n${a.diagnostics.join("\n")}`);
      });
    }
  });
}
