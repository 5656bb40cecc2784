/**
 * generated/schema.graphql is the API's contract: it must match what the
 * preset builds from the migrated databases (run `npm run generate:schema`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { createDatabases } from "../../src/db/databases.ts";
import { printApiSchema, SCHEMA_HEADER } from "../../src/tooling/schema-export.ts";
import { testApiConfig } from "./api-harness.ts";

test("generated/schema.graphql is up to date (else: npm run generate:schema)", async () => {
  const config = testApiConfig({ ENVIRONMENT: "development" });
  const deployment = await openDeployment(config);
  const databases = createDatabases(deployment, config);
  const fresh = await printApiSchema(config, databases, deployment.topology).finally(() => databases.close());
  const committed = readFileSync(path.join(PROJECT_ROOT, "generated", "schema.graphql"), "utf8");
  expect(committed.startsWith(SCHEMA_HEADER)).toBe(true);
  expect(committed, "generated/schema.graphql is stale: run npm run generate:schema").toBe(fresh);
});
