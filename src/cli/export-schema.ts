#!/usr/bin/env node
/**
 * `npm run generate:schema`: writes the GraphQL contract, generated/schema.graphql,
 * from the same preset the server uses, and each database's schema as it
 * stands after all migrations, generated/<folder>/schema.sql, against freshly
 * migrated databases (a throw-away embedded server when no database is
 * configured).
 */
import "../api/graphql/graphile-env.ts";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { printApiSchema } from "../tooling/schema-export.ts";
import { loadConfig, PROJECT_ROOT, withThrowAwayEmbedded } from "../config.ts";
import { initDatabases } from "../bootstrap/init-databases.ts";
import { dumpDatabase, dumpFile } from "../tooling/schema-dump.ts";
import { runCli } from "./run-cli.ts";

const SCHEMA_FILE = path.join(PROJECT_ROOT, "generated", "schema.graphql");

runCli(async () => {
  const config = loadConfig();
  const databases = await initDatabases(withThrowAwayEmbedded(config));
  try {
    writeFileSync(SCHEMA_FILE, await printApiSchema(config, databases, databases.deployment.topology));
    console.log(`wrote ${path.relative(PROJECT_ROOT, SCHEMA_FILE)}`);
    const { deployment } = databases;
    for (const spec of deployment.topology.databases) {
      const url = deployment.endpoints(spec.key).migrationUrl ?? deployment.adminUrl;
      if (!url) throw new Error(`dumping ${spec.name} needs its owner login: set ${spec.folder.toUpperCase()}_MIGRATION_DATABASE_URL`);
      writeFileSync(dumpFile(spec), await dumpDatabase(url, deployment.topology));
      console.log(`wrote ${path.relative(PROJECT_ROOT, dumpFile(spec))}`);
    }
  } finally {
    await databases.close();
  }
});
