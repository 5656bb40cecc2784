#!/usr/bin/env node
/**
 * `npm start`: brings the platform up for development. Starts the embedded
 * PostgreSQL unless database URLs are configured, provisions and migrates both
 * databases, and keeps running until Ctrl-C, which stops everything cleanly.
 */
import { loadConfig, redactUrl } from "../config.ts";
import { openDeployment } from "../db/deployment.ts";
import { migrateAll } from "../db/migrations.ts";
import { runCli } from "./run-cli.ts";

runCli(async () => {
  const config = loadConfig();
  const deployment = await openDeployment(config);
  try {
    await migrateAll(deployment);
  } catch (error) {
    await deployment.close();
    throw error;
  }
  for (const db of [deployment.platform, deployment.userData]) {
    console.log(`${db.name}: ${redactUrl(db.apiUrl)}`);
  }
  if (deployment.embedded) console.log(`embedded PostgreSQL data directory: ${deployment.embedded.dataDir}`);
  console.log("ready; press Ctrl-C to stop");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await deployment.close();
});
