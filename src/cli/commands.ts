/**
 * Every `alwrity` command in one table: its name, its arguments, what it does,
 * the options it takes and the function that runs it. The dispatch and every
 * help text (src/cli/command-line.ts) are made from this table, and
 * docs/cli.md lists the same commands.
 */
import { ANALYTICS_REPORTS } from "../services/analytics.ts";
import { DB_COMMANDS, runDbCommand, type DbCommand } from "./db-commands.ts";
import { runEntitlementsCommand } from "./entitlements-commands.ts";
import { runAnalyticsCommand, runUsageCommand } from "./usage-commands.ts";
import { runUserCommand, runUserPlanCommand } from "./user-commands.ts";

/** The options any command may take; each command lists the ones it accepts. */
export const OPTIONS = {
  json: { type: "boolean", describe: "print JSON for machines" },
  now: { type: "boolean", describe: "apply a downgrade now instead of at the paid period's end" },
  out: { type: "string", value: "a file name (a folder for db backup)", placeholder: "<file>" },
  into: { type: "string", value: "a prefix", placeholder: "<prefix>" },
  from: { type: "string", value: "a date (YYYY-MM-DD)", placeholder: "<date>" },
  to: { type: "string", value: "a date (YYYY-MM-DD)", placeholder: "<date>" },
  "older-than": { type: "string", value: "a date (YYYY-MM-DD)", placeholder: "<date>" },
} as const;
export type OptionName = keyof typeof OPTIONS;

/** What a handler receives: the arguments after the command's name, and its options. */
export interface CommandInput {
  readonly args: readonly string[];
  readonly json: boolean;
  readonly now?: boolean;
  readonly out?: string;
  readonly into?: string;
  readonly from?: string;
  readonly to?: string;
  readonly olderThan?: string;
}

export interface Command {
  /** The words that name it: "db test". */
  readonly name: string;
  /** Its arguments as the usage line shows them: "<user id>". */
  readonly args?: string;
  /** How many arguments it takes at most (default 0). */
  readonly maxArgs?: number;
  readonly summary: string;
  readonly options?: readonly OptionName[];
  /** Start-up flags of the design document that stand for this command (`alwrity --init-databases`, `npm start -- --init-databases`). */
  readonly alias?: string;
  readonly run: (input: CommandInput) => Promise<void>;
}

const db = (name: DbCommand, extra: Partial<Command> = {}): Command => ({
  name: `db ${name}`,
  summary: DB_COMMANDS[name],
  run: (input) => runDbCommand(name, { json: input.json, out: input.out, dir: input.args[0], into: input.into }),
  ...extra,
});

const userCommand = (name: "delete" | "status" | "export", summary: string, options: readonly OptionName[]): Command => ({
  name: `user ${name}`,
  args: "<user id>",
  maxArgs: 1,
  summary,
  options,
  run: (input) => runUserCommand(name, input.args[0], { json: input.json, out: input.out }),
});

export const COMMANDS: readonly Command[] = [
  db("test", { alias: "--test-databases" }),
  db("init", { alias: "--init-databases" }),
  db("info", { options: ["json"] }),
  db("top", { options: ["json"] }),
  db("audit", { options: ["json"] }),
  db("backup", { options: ["out"] }),
  db("restore", { args: "<dir>", maxArgs: 1, options: ["into"] }),
  db("verify-rls"),
  {
    name: "dev",
    summary: "start the platform for development (databases up and migrated, GraphQL API listening) until Ctrl-C",
    alias: "--dev",
    // Loaded only here: the API (PostGraphile and all it brings) would cost every other command ~23 MB of heap.
    run: async () => (await import("./serve-platform.ts")).servePlatform(),
  },
  {
    name: "worker",
    summary: "run the job worker (erasures, plan changes, entitlements) until Ctrl-C/SIGTERM, letting the running job finish",
    run: async () => (await import("./worker-process.ts")).runWorkerProcess(),
  },
  {
    name: "deploy",
    summary:
      "apply pending migrations of both databases to the running platform (lock_timeout as always), then tell every running API process to take up the new schema between requests, without a restart (exit 1 saying what to do if a migration fails; the API then keeps the schema it had)",
    options: ["json"],
    run: async (input) => (await import("./deploy-command.ts")).runDeployCommand({ json: input.json }),
  },
  userCommand("delete", "erase an account: from now on it signs in nowhere; the job worker removes its data from both databases", ["json"]),
  userCommand("status", "the erasure of an account as platform admins see it", ["json"]),
  userCommand("export", "everything about the user in both databases as one JSON document, streamed to stdout or --out <file>", ["out"]),
  {
    name: "user plan",
    args: "<clerk id|user id> <plan>",
    maxArgs: 2,
    summary: "move a user to a plan through the billing's plan change: an upgrade now, a downgrade at the paid period's end (or --now)",
    options: ["now", "json"],
    run: (input) => runUserPlanCommand(input.args[0], input.args[1], { json: input.json, now: input.now === true }),
  },
  {
    name: "dev seed",
    summary: "fill the databases with demo users, projects, assets, personas, usage and plan changes, to try analytics, plans and quotas (idempotent; refused in production)",
    options: ["json"],
    run: async (input) => (await import("./dev-seed.ts")).runDevSeed({ json: input.json }),
  },
  {
    name: "analytics",
    args: "<report>",
    maxArgs: 1,
    summary: `a report for platform admins over [from, to) (default: the last 30 days); reports: ${Object.entries(ANALYTICS_REPORTS)
      .map(([name, r]) => `${name} (${r.describe})`)
      .join("; ")}`,
    options: ["from", "to", "json"],
    run: (input) => runAnalyticsCommand(input.args[0], { from: input.from, to: input.to, json: input.json }),
  },
  {
    name: "usage ensure-partitions",
    summary: "create the usage log's partitions for this month and the next USAGE_PARTITIONS_AHEAD months (the daily job does this too)",
    run: () => runUsageCommand("ensure-partitions", {}),
  },
  {
    name: "usage detach-partitions",
    summary: "detach the partitions of months ended by --older-than, after checking their monthly totals; they stay as tables for archiving",
    options: ["older-than"],
    run: (input) => runUsageCommand("detach-partitions", { olderThan: input.olderThan }),
  },
  {
    name: "entitlements resync",
    summary: "carry every account's plan limits to the user-data database now (a full resync; safe to run at any time)",
    options: ["json"],
    run: (input) => runEntitlementsCommand("resync", { json: input.json }),
  },
  {
    name: "entitlements over-limit",
    summary: "users whose projects or personas exceed their plan after a downgrade",
    options: ["json"],
    run: (input) => runEntitlementsCommand("over-limit", { json: input.json }),
  },
];
