/**
 * The GraphQL contract as SDL, sorted so the file only changes when the API
 * does. Built from the same preset as the server (preset.ts).
 */
import { makeSchema } from "postgraphile";
import { lexicographicSortSchema, printSchema } from "postgraphile/graphql";
import type { Config } from "../config.ts";
import type { Deployment } from "../db/deployment.ts";
import { createPool } from "../db/pools.ts";
import { makeSchemaPreset } from "./preset.ts";

export const SCHEMA_HEADER =
  "# DO NOT EDIT: generated from the database schema by `npm run generate:schema` (src/cli/export-schema.ts).\n";

export async function printApiSchema(config: Config, deployment: Deployment): Promise<string> {
  const pools = {
    platform: createPool(deployment.platform.apiUrl, config.pool, "alwrity-schema-export"),
    userData: createPool(deployment.userData.apiUrl, config.pool, "alwrity-schema-export"),
  };
  try {
    const { schema } = await makeSchema(
      makeSchemaPreset({ environment: config.environment, topology: deployment.topology, pools, maxBodyBytes: config.api.maxBodyBytes }),
    );
    return SCHEMA_HEADER + printSchema(lexicographicSortSchema(schema)) + "\n";
  } finally {
    await Promise.all([pools.platform.end(), pools.userData.end()]);
  }
}
