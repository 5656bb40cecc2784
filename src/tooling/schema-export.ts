/**
 * The GraphQL contract as SDL, sorted so the file only changes when the API
 * does. Built from the same preset as the server (preset.ts).
 */
import { makeSchema } from "postgraphile";
import { lexicographicSortSchema, printSchema } from "postgraphile/graphql";
import type { Config } from "../config.ts";
import type { Databases } from "../db/databases.ts";
import type { Topology } from "../topology.ts";
import { makeSchemaPreset } from "../api/graphql/preset.ts";

export const SCHEMA_HEADER =
  "# DO NOT EDIT: generated from the database schema by `npm run generate:schema` (src/cli/export-schema.ts).\n";

export async function printApiSchema(config: Config, databases: Databases, topology: Topology): Promise<string> {
  const { schema } = await makeSchema(makeSchemaPreset({ environment: config.environment, topology, databases, api: config.api }));
  return SCHEMA_HEADER + printSchema(lexicographicSortSchema(schema)) + "\n";
}
