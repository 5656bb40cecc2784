#!/usr/bin/env node
/**
 * The `alwrity` command (package.json `bin`; `npx alwrity --help`).
 *
 *   alwrity db test | init | info [--json] | top [--json] | audit [--json] | verify-rls
 *   alwrity db backup [--out dir] | restore <dir> [--into prefix]
 *   alwrity dev
 *   alwrity worker
 *   alwrity user delete | status <user id> [--json]
 *   alwrity user export <user id> [--out file]
 *   alwrity analytics <report> [--from <date> --to <date>] [--json]
 *   alwrity usage ensure-partitions | detach-partitions --older-than <date>
 *   alwrity entitlements resync | over-limit [--json]
 *
 * Configuration comes from the environment (see src/config.ts). Errors are
 * one line on stderr and exit code 1 (see run-cli.ts).
 */
import "../api/graphql/graphile-env.ts";
import { DB_COMMANDS, runDbCommand, type DbCommand } from "./db-commands.ts";
import { ANALYTICS_REPORTS } from "../services/analytics.ts";
import { runAnalyticsCommand, runUsageCommand, USAGE_COMMANDS, type UsageCommand } from "./usage-commands.ts";
import { ENTITLEMENTS_COMMANDS, runEntitlementsCommand, type EntitlementsCommand } from "./entitlements-commands.ts";
import { runCli } from "./run-cli.ts";
import { runUserCommand, USER_COMMANDS, type UserCommand } from "./user-commands.ts";

const MAIN_HELP = `usage: alwrity <command> [--help]

commands:
${Object.entries(DB_COMMANDS)
  .map(([name, what]) => `  db ${name.padEnd(11)} ${what}`)
  .join("\n")}
  dev            start the platform for development (databases up and migrated, GraphQL API listening) until Ctrl-C
  worker         run the job worker (erasures, plan changes, entitlements) until Ctrl-C/SIGTERM, letting the running job finish
${Object.entries(USER_COMMANDS)
  .map(([name, what]) => `  user ${name.padEnd(9)} <user id> ${what}`)
  .join("\n")}
  analytics <report> [--from <date>] [--to <date>] [--json]
                 a report for platform admins over [from, to) (default: the last 30 days); reports:
${Object.entries(ANALYTICS_REPORTS)
  .map(([name, r]) => `                   ${name.padEnd(21)} ${r.describe}`)
  .join("\n")}
${Object.entries(USAGE_COMMANDS)
  .map(([name, what]) => `  usage ${name}  ${what}`)
  .join("\n")}
${Object.entries(ENTITLEMENTS_COMMANDS)
  .map(([name, what]) => `  entitlements ${name.padEnd(11)} ${what}`)
  .join("\n")}

Configuration comes from environment variables (PLATFORM_DATABASE_URL, USER_DATA_DATABASE_URL,
DATABASE_ADMIN_URL, DB_POOL_*, ...); with none set, an embedded PostgreSQL is started.`;

const DB_HELP = `usage: alwrity db <${Object.keys(DB_COMMANDS).join("|")}> [--json] [--help]

${Object.entries(DB_COMMANDS)
  .map(([name, what]) => `  ${name.padEnd(11)} ${what}`)
  .join("\n")}`;

const DEV_HELP = `usage: alwrity dev

Starts the platform for development: the databases (embedded when none is configured),
provisioned and migrated; prints where everything is and runs until Ctrl-C.`;

const DB_USAGE: Partial<Record<DbCommand, string>> = { info: " [--json]", top: " [--json]", audit: " [--json]", backup: " [--out dir]", restore: " <dir> [--into prefix]" };

function commandHelp(command: DbCommand): string {
  return `usage: alwrity db ${command}${DB_USAGE[command] ?? ""}\n\n${DB_COMMANDS[command]}`;
}

runCli(async (args) => {
  const help = args.includes("--help") || args.includes("-h");
  const json = args.includes("--json");
  // Options that take a value, and what the value must be.
  const needs: Record<string, string> = {
    "--out": "a file name (a folder for db backup)",
    "--into": "a prefix",
    "--from": "a date (YYYY-MM-DD)",
    "--to": "a date (YYYY-MM-DD)",
    "--older-than": "a date (YYYY-MM-DD)",
  };
  const values: Record<string, string | undefined> = {};
  const taken = new Set<number>();
  for (const [name, what] of Object.entries(needs)) {
    const at = args.indexOf(name);
    if (at < 0) continue;
    const value = args[at + 1];
    if (value === undefined || value.startsWith("-")) throw new Error(`${name} needs ${what}`);
    values[name] = value;
    taken.add(at).add(at + 1);
  }
  const out = values["--out"];
  const into = values["--into"];
  const words = args.filter((a, i) => !["--help", "-h", "--json"].includes(a) && !taken.has(i));
  const unknownFlag = words.find((a) => a.startsWith("-"));
  if (unknownFlag) throw new Error(`unknown option ${unknownFlag}; see alwrity --help`);
  const [group, command, ...rest] = words;
  if (json && !["db", "user", "analytics", "entitlements"].includes(group ?? "")) throw new Error(`--json is for alwrity db, alwrity user, alwrity analytics and alwrity entitlements only`);
  if ((values["--from"] !== undefined || values["--to"] !== undefined) && group !== "analytics") throw new Error("--from and --to are for alwrity analytics only");
  if (values["--older-than"] !== undefined && !(group === "usage" && command === "detach-partitions")) {
    throw new Error("--older-than is for alwrity usage detach-partitions only");
  }

  if (group === undefined || group === "help") return console.log(MAIN_HELP);
  if (group === "dev") {
    if (command !== undefined) throw new Error(`alwrity dev takes no arguments; see alwrity dev --help`);
    if (help) return console.log(DEV_HELP);
    // Loaded only here: the API (PostGraphile and all it brings) would cost every other command ~23 MB of heap.
    return (await import("./serve-platform.ts")).servePlatform();
  }
  if (group === "worker") {
    if (command !== undefined) throw new Error(`alwrity worker takes no arguments; see alwrity --help`);
    if (help) return console.log("usage: alwrity worker\n\nRuns the job worker until Ctrl-C or SIGTERM (the running job finishes first).");
    return (await import("./worker-process.ts")).runWorkerProcess();
  }
  if (group === "user") {
    if (command === undefined || !(command in USER_COMMANDS)) {
      throw new Error(`alwrity user needs a command (${Object.keys(USER_COMMANDS).join(", ")}); see alwrity --help`);
    }
    if (help) return console.log(`usage: alwrity user ${command} <user id> [--json]\n\n${USER_COMMANDS[command as UserCommand]}`);
    if (rest.length > 1) throw new Error(`unexpected argument "${rest[1]}"; see alwrity user ${command} --help`);
    if (out !== undefined && command !== "export") throw new Error("--out is for alwrity user export and db backup only");
    if (into !== undefined) throw new Error("--into is for alwrity db restore only");
    return runUserCommand(command as UserCommand, rest[0], { json, out });
  }
  if (group === "analytics") {
    if (help) return console.log(MAIN_HELP);
    if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity --help`);
    return runAnalyticsCommand(command, { from: values["--from"], to: values["--to"], json });
  }
  if (group === "usage") {
    if (command === undefined || !(command in USAGE_COMMANDS)) {
      throw new Error(`alwrity usage needs a command (${Object.keys(USAGE_COMMANDS).join(", ")}); see alwrity --help`);
    }
    if (help) return console.log(`usage: alwrity usage ${command}${command === "detach-partitions" ? " --older-than <YYYY-MM-DD>" : ""}\n\n${USAGE_COMMANDS[command as UsageCommand]}`);
    if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity usage ${command} --help`);
    return runUsageCommand(command as UsageCommand, { olderThan: values["--older-than"] });
  }
  if (group === "entitlements") {
    if (command === undefined || !(command in ENTITLEMENTS_COMMANDS)) {
      throw new Error(`alwrity entitlements needs a command (${Object.keys(ENTITLEMENTS_COMMANDS).join(", ")}); see alwrity --help`);
    }
    if (help) return console.log(`usage: alwrity entitlements ${command} [--json]\n\n${ENTITLEMENTS_COMMANDS[command as EntitlementsCommand]}`);
    if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity entitlements ${command} --help`);
    return runEntitlementsCommand(command as EntitlementsCommand, { json });
  }
  if (group !== "db") throw new Error(`unknown command "${group}"; see alwrity --help`);
  if (command === undefined) {
    if (help) return console.log(DB_HELP);
    throw new Error(`alwrity db needs a command (${Object.keys(DB_COMMANDS).join(", ")}); see alwrity db --help`);
  }
  if (!(command in DB_COMMANDS)) throw new Error(`unknown command "db ${command}"; see alwrity db --help`);
  const dir = command === "restore" ? rest.shift() : undefined;
  if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity db ${command} --help`);
  if (out !== undefined && command !== "backup") throw new Error("--out is for alwrity db backup and user export only");
  if (into !== undefined && command !== "restore") throw new Error("--into is for alwrity db restore only");
  if (json && group === "db" && !["info", "top", "audit"].includes(command)) throw new Error(`--json is for alwrity db info, db top and db audit only`);
  if (help) return console.log(commandHelp(command as DbCommand));
  await runDbCommand(command as DbCommand, { json, out, dir, into });
});
