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
 *
 * Configuration comes from the environment (see src/config.ts). Errors are
 * one line on stderr and exit code 1 (see run-cli.ts).
 */
import "../api/graphile-env.ts";
import { DB_COMMANDS, runDbCommand, type DbCommand } from "./db-commands.ts";
import { runCli } from "./run-cli.ts";
import { servePlatform } from "./serve-platform.ts";
import { runUserCommand, USER_COMMANDS, type UserCommand } from "./user-commands.ts";
import { runWorkerProcess } from "./worker-process.ts";

const MAIN_HELP = `usage: alwrity <command> [--help]

commands:
${Object.entries(DB_COMMANDS)
  .map(([name, what]) => `  db ${name.padEnd(11)} ${what}`)
  .join("\n")}
  dev            start the platform for development (databases up and migrated, GraphQL API listening) until Ctrl-C
  worker         run the job worker (erasures) until Ctrl-C/SIGTERM, letting the running job finish
${Object.entries(USER_COMMANDS)
  .map(([name, what]) => `  user ${name.padEnd(9)} <user id> ${what}`)
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
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  if (outAt >= 0 && (out === undefined || out.startsWith("-"))) throw new Error("--out needs a file name (a folder for db backup)");
  const intoAt = args.indexOf("--into");
  const into = intoAt >= 0 ? args[intoAt + 1] : undefined;
  if (intoAt >= 0 && (into === undefined || into.startsWith("-"))) throw new Error("--into needs a prefix");
  const valueAt = [outAt, intoAt].filter((i) => i >= 0).map((i) => i + 1);
  const words = args.filter((a, i) => !["--help", "-h", "--json", "--out", "--into"].includes(a) && !valueAt.includes(i));
  const unknownFlag = words.find((a) => a.startsWith("-"));
  if (unknownFlag) throw new Error(`unknown option ${unknownFlag}; see alwrity --help`);
  const [group, command, ...rest] = words;
  if (json && group !== "db" && group !== "user") throw new Error(`--json is for alwrity db info and alwrity user only`);

  if (group === undefined || group === "help") return console.log(MAIN_HELP);
  if (group === "dev") {
    if (command !== undefined) throw new Error(`alwrity dev takes no arguments; see alwrity dev --help`);
    if (help) return console.log(DEV_HELP);
    return servePlatform();
  }
  if (group === "worker") {
    if (command !== undefined) throw new Error(`alwrity worker takes no arguments; see alwrity --help`);
    if (help) return console.log("usage: alwrity worker\n\nRuns the job worker until Ctrl-C or SIGTERM (the running job finishes first).");
    return runWorkerProcess();
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
