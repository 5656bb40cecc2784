#!/usr/bin/env node
/**
 * graphile-migrate's afterAllMigrations hook (.gmrc, .gmrc.user_data): after
 * migrations on the shadow database (db:commit, db:reset --shadow), writes
 * that database's schema to generated/<folder>/schema.sql, as graphile-starter
 * dumps its schema after every commit. graphile-migrate passes the database
 * as GM_DBURL and GM_DBNAME; `npm run generate:schema` writes the same files.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { dumpDatabase, dumpFile } from "../tooling/schema-dump.ts";
import { loadConfig, PROJECT_ROOT } from "../config.ts";
import { resolveTopology } from "../topology.ts";
import { runCli } from "./run-cli.ts";

runCli(async () => {
  const { GM_DBURL: url, GM_DBNAME: name } = process.env;
  if (!url || !name) throw new Error("dump-schema runs as graphile-migrate's afterAllMigrations hook (GM_DBURL, GM_DBNAME); use npm run generate:schema");
  const topology = resolveTopology(loadConfig().envPrefix);
  const spec = topology.databases.find((d) => name === d.name || name === `${d.name}_shadow`);
  if (!spec) throw new Error(`database ${name} is not one of the topology's (${topology.databases.map((d) => d.name).join(", ")})`);
  writeFileSync(dumpFile(spec), await dumpDatabase(url, topology));
  console.log(`wrote ${path.relative(PROJECT_ROOT, dumpFile(spec))}`);
});
