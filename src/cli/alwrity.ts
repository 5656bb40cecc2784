#!/usr/bin/env node
/**
 * The `alwrity` command (package.json `bin`; `npx alwrity --help`).
 *
 *   alwrity db test | init | info [--json] | top [--json] | verify-rls
 *   alwrity dev
 *
 * Configuration comes from the environment (see src/config.ts). Errors are
 * one line on stderr and exit code 1 (see run-cli.ts).
 */
import "../api/graphile-env.ts";
import { DB_COMMANDS, runDbCommand, type DbCommand } from "./db-commands.ts";
import { runCli } from "./run-cli.ts";
import { servePlatform } from "./serve-platform.ts";

const MAIN_HELP = `usage: alwrity <command> [--help]

commands:
${Object.entries(DB_COMMANDS)
  .map(([name, what]) => `  db ${name.padEnd(11)} ${what}`)
  .join("\n")}
  dev            start the platform for development (databases up and migrated, GraphQL API listening) until Ctrl-C

Configuration comes from environment variables (PLATFORM_DATABASE_URL, USER_DATA_DATABASE_URL,
DATABASE_ADMIN_URL, DB_POOL_*, ...); with none set, an embedded PostgreSQL is started.`;

const DB_HELP = `usage: alwrity db <${Object.keys(DB_COMMANDS).join("|")}> [--json] [--help]

${Object.entries(DB_COMMANDS)
  .map(([name, what]) => `  ${name.padEnd(11)} ${what}`)
  .join("\n")}`;

const DEV_HELP = `usage: alwrity dev

Starts the platform for development: the databases (embedded when none is configured),
provisioned and migrated; prints where everything is and runs until Ctrl-C.`;

function commandHelp(command: DbCommand): string {
  return `usage: alwrity db ${command}${command === "info" || command === "top" ? " [--json]" : ""}\n\n${DB_COMMANDS[command]}`;
}

runCli(async (args) => {
  const help = args.includes("--help") || args.includes("-h");
  const json = args.includes("--json");
  const words = args.filter((a) => !["--help", "-h", "--json"].includes(a));
  const unknownFlag = words.find((a) => a.startsWith("-"));
  if (unknownFlag) throw new Error(`unknown option ${unknownFlag}; see alwrity --help`);
  const [group, command, ...rest] = words;

  if (group === undefined || group === "help") return console.log(MAIN_HELP);
  if (group === "dev") {
    if (command !== undefined) throw new Error(`alwrity dev takes no arguments; see alwrity dev --help`);
    if (help) return console.log(DEV_HELP);
    return servePlatform();
  }
  if (group !== "db") throw new Error(`unknown command "${group}"; see alwrity --help`);
  if (command === undefined) {
    if (help) return console.log(DB_HELP);
    throw new Error(`alwrity db needs a command (${Object.keys(DB_COMMANDS).join(", ")}); see alwrity db --help`);
  }
  if (!(command in DB_COMMANDS)) throw new Error(`unknown command "db ${command}"; see alwrity db --help`);
  if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity db ${command} --help`);
  if (json && command !== "info" && command !== "top") throw new Error(`--json is for alwrity db info and db top only`);
  if (help) return console.log(commandHelp(command as DbCommand));
  await runDbCommand(command as DbCommand, { json });
});
