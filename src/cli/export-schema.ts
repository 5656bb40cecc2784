#!/usr/bin/env node
/**
 * `npm run generate:schema`: writes the GraphQL contract, generated/schema.graphql,
 * from the same preset the server uses, against freshly migrated databases
 * (a throw-away embedded server when no database is configured).
 */
import "../api/graphile-env.ts";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { printApiSchema } from "../api/schema-export.ts";
import { loadConfig, PROJECT_ROOT, withThrowAwayEmbedded } from "../config.ts";
import { initDatabases } from "../bootstrap/init-databases.ts";
import { runCli } from "./run-cli.ts";

const SCHEMA_FILE = path.join(PROJECT_ROOT, "generated", "schema.graphql");

runCli(async () => {
  const config = loadConfig();
  const databases = await initDatabases(withThrowAwayEmbedded(config));
  try {
    writeFileSync(SCHEMA_FILE, await printApiSchema(config, databases, databases.deployment.topology));
    console.log(`wrote ${path.relative(PROJECT_ROOT, SCHEMA_FILE)}`);
  } finally {
    await databases.close();
  }
});
