#!/usr/bin/env node
/**
 * `npm run generate:config`: writes the configuration reference,
 * generated/configuration.md, from src/config.ts (see
 * src/tooling/config-reference.ts); `-- --check` fails when it is stale or a
 * variable has no meaning written beside its field in config.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../config.ts";
import { CONFIG_REFERENCE_FILE, configurationReference, referenceProblems } from "../tooling/config-reference.ts";
import { runCli } from "./run-cli.ts";

runCli(async (args) => {
  const problems = referenceProblems();
  if (problems.length > 0) throw new Error(`the configuration reference cannot be made:\n  ${problems.join("\n  ")}`);
  const shown = path.relative(PROJECT_ROOT, CONFIG_REFERENCE_FILE);
  if (args.includes("--check")) {
    const current = readFileSync(CONFIG_REFERENCE_FILE, "utf8");
    if (current !== configurationReference()) throw new Error(`${shown} is stale: run npm run generate:config`);
    console.log(`${shown} is current`);
    return;
  }
  writeFileSync(CONFIG_REFERENCE_FILE, configurationReference());
  console.log(`wrote ${shown}`);
});
