#!/usr/bin/env node
/**
 * `npm start`: brings the platform up (see src/platform.ts) and keeps it
 * running until Ctrl-C, which stops everything cleanly.
 */
import "../api/graphile-env.ts";
import { loadConfig } from "../config.ts";
import { startPlatform } from "../platform.ts";
import { runCli } from "./run-cli.ts";

runCli(async () => {
  const platform = await startPlatform(loadConfig());
  for (const line of platform.summary) console.log(line);
  console.log("ready; press Ctrl-C to stop");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await platform.stop();
});
