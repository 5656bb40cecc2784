/**
 * Runs every pgTAP file under test/db/<database>/ against that database of the
 * deployment under test; each pgTAP assertion is one vitest test.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { DATABASE_KEYS, DATABASE_SPECS } from "../../src/topology.ts";
import { runPgtapFile } from "../support/pgtap-runner.ts";
import { testDeployment } from "../support/test-deployment.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const deployment = testDeployment();
const placeholders = deployment.topology.placeholders();

const files = DATABASE_SPECS.flatMap(({ folder, key }) =>
  readdirSync(path.join(here, folder))
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => ({ key, file: path.join(here, folder, f), label: `${folder}/${f}` })),
);

const reports = await Promise.all(
  files.map(async (f) => ({ ...f, report: await runPgtapFile(deployment.adminUrlFor(f.key), f.file, placeholders) })),
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
