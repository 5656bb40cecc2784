#!/usr/bin/env node
/**
 * `npm run generate:schema`: writes the GraphQL contract, generated/schema.graphql,
 * from the same preset the server uses, against freshly migrated databases.
 */
import "../api/graphile-env.ts";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, PROJECT_ROOT } from "../config.ts";
import { openDeployment } from "../db/deployment.ts";
import { migrateAll } from "../db/migrations.ts";
import { printApiSchema } from "../api/schema-export.ts";
import { runCli } from "./run-cli.ts";

export const SCHEMA_FILE = path.join(PROJECT_ROOT, "generated", "schema.graphql");

runCli(async () => {
  const config = loadConfig();
  const deployment = await openDeployment(config);
  try {
    await migrateAll(deployment);
    writeFileSync(SCHEMA_FILE, await printApiSchema(config, deployment));
    console.log(`wrote ${path.relative(PROJECT_ROOT, SCHEMA_FILE)}`);
  } finally {
    await deployment.close();
  }
});
