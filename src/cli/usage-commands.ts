/**
 * `alwrity analytics <report>` and `alwrity usage <command>`: an operator
 * reading the admin analytics, and keeping the usage log's monthly partitions.
 * Both act as the platform admin through the API's login, like the services.
 *   usage ensure-partitions   creates the partitions the job queue keeps ready (USAGE_PARTITIONS_AHEAD)
 *   usage detach-partitions   detaches old months' partitions once their totals are checked
 */
import { ANALYTICS_REPORTS, analyticsReport, isAnalyticsReport, parsePeriod } from "../services/analytics.ts";
import { detachUsagePartitions, ensureUsagePartitions } from "../services/usage.ts";
import { withDatabases } from "./open-deployment.ts";
import { formatTable } from "./table.ts";

export type UsageCommand = "ensure-partitions" | "detach-partitions";

export async function runAnalyticsCommand(report: string | undefined, options: { from?: string; to?: string; json: boolean }): Promise<void> {
  if (report === undefined || !isAnalyticsReport(report)) {
    throw new Error(`alwrity analytics needs a report (${Object.keys(ANALYTICS_REPORTS).join(", ")}), got ${report === undefined ? "nothing" : JSON.stringify(report)}`);
  }
  const period = parsePeriod(options.from, options.to);
  const rows = await withDatabases((databases) => databases.platform.withPlatformAdmin((admin) => analyticsReport(admin, report, period)));
  if (options.json) return console.log(JSON.stringify({ report, from: period.from.toISOString(), to: period.to.toISOString(), rows }));
  console.log(`${report} from ${period.from.toISOString()} to ${period.to.toISOString()}\n`);
  if (rows.length === 0) return console.log("(no rows)");
  const headers = Object.keys(rows[0]!);
  console.log(formatTable(headers, rows.map((row) => headers.map((h) => String((row as Record<string, unknown>)[h] ?? "")))));
}

export async function runUsageCommand(command: UsageCommand, options: { olderThan?: string }): Promise<void> {
  if (command === "detach-partitions" && options.olderThan === undefined) throw new Error("alwrity usage detach-partitions needs --older-than <YYYY-MM-DD>");
  const names = await withDatabases((databases, { config }) =>
    databases.platform.withPlatformAdmin((admin) =>
      command === "ensure-partitions" ? ensureUsagePartitions(admin, config.worker.usagePartitionsAhead) : detachUsagePartitions(admin, options.olderThan!),
    ),
  );
  const verb = command === "ensure-partitions" ? "created" : "detached";
  console.log(names.length === 0 ? `no partition ${verb}` : `${verb}: ${names.join(", ")}`);
}
