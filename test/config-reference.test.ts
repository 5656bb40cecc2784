/**
 * The configuration reference (generated/configuration.md) is made from
 * src/config.ts: every variable it reads must have its meaning written there,
 * and the committed reference must be current.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { settingsRead } from "../src/config.ts";
import { CONFIG_REFERENCE_FILE, configurationReference, documentedSettings, referenceProblems } from "../src/tooling/config-reference.ts";

test("every variable src/config.ts reads is documented there, and every documented one is read", () => {
  expect(referenceProblems()).toEqual([]);
});

test("a variable whose doc comment is missing is found (the check has teeth)", () => {
  const source = readFileSync(new URL("../src/config.ts", import.meta.url), "utf8");
  const without = source.replace("/** SHUTDOWN_TIMEOUT, in milliseconds:", "/** How long:");
  expect(documentedSettings(source).has("SHUTDOWN_TIMEOUT")).toBe(true);
  expect(documentedSettings(without).has("SHUTDOWN_TIMEOUT")).toBe(false);
  expect(settingsRead().map((s) => s.name)).toContain("SHUTDOWN_TIMEOUT");
});

test("the reference lists every variable read, with production's default where it differs", () => {
  const reference = configurationReference();
  for (const { name } of settingsRead()) expect(reference).toContain(`| \`${name}\` |`);
  expect(reference).toMatch(/\| `METRICS` \| `open` \(production: `off`\) \|/);
});

test("generated/configuration.md is current (npm run generate:config)", () => {
  expect(readFileSync(CONFIG_REFERENCE_FILE, "utf8")).toBe(configurationReference());
});
