/**
 * What an entry point does with a rejection nobody handled. Node's default ends
 * the process at once; ours ends it too (through `onFatal`, which may stop in
 * order first), unless the rejection is only graphile-worker 0.16 leaving
 * unhandled an error it has already reported and the worker deals with
 * (runner.ts). Ending the process for that would turn a database outage across
 * a crontab tick into a restart of every process that runs a worker.
 */
import type { Logger } from "../log.ts";
import { isReportedWorkerError } from "../worker/runner.ts";

/**
 * How long an unhandled rejection waits for graphile-worker to report its error: the
 * library may end its runner (and report) only after its shutdown's queries fail.
 */
const REPORT_GRACE_MS = 1_000;

export function exitOnUnhandledRejection(log: Logger, onFatal: (reason: unknown) => void): void {
  process.on("unhandledRejection", (reason) => {
    setTimeout(() => {
      const message = reason instanceof Error ? reason.message : String(reason);
      if (isReportedWorkerError(reason)) {
        log("worker_rejection_ignored", { message });
        return;
      }
      log("unhandled_rejection", { message });
      onFatal(reason);
    }, REPORT_GRACE_MS);
  });
}
