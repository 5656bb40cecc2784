#!/usr/bin/env node
/**
 * The `alwrity` command (package.json `bin`; `npx alwrity --help`).
 *
 *   alwrity db test | init | info [--json] | top [--json] | audit [--json] | verify-rls
 *   alwrity dev
 *   alwrity worker
 *   alwrity user delete | status <user id> [--json]
 *   alwrity user export <user id> [--out file]
 *   alwrity entitlements resync | over-limit [--json]
 *
 * Configuration comes from the environment (see src/config.ts). Errors are
 * one line on stderr and exit code 1 (see run-cli.ts).
 */
import "../api/graphile-env.ts";
import { DB_COMMANDS, runDbCommand, type DbCommand } from "./db-commands.ts";
import { ENTITLEMENTS_COMMANDS, runEntitlementsCommand, type EntitlementsCommand } from "./entitlements-commands.ts";
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
  worker         run the job worker (erasures, plan changes, entitlements) until Ctrl-C/SIGTERM, letting the running job finish
${Object.entries(USER_COMMANDS)
  .map(([name, what]) => `  user ${name.padEnd(9)} <user id> ${what}`)
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

function commandHelp(command: DbCommand): string {
  return `usage: alwrity db ${command}${["info", "top", "audit"].includes(command) ? " [--json]" : ""}\n\n${DB_COMMANDS[command]}`;
}

runCli(async (args) => {
  const help = args.includes("--help") || args.includes("-h");
  const json = args.includes("--json");
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  if (outAt >= 0 && (out === undefined || out.startsWith("-"))) throw new Error("--out needs a file name");
  const words = args.filter((a, i) => !["--help", "-h", "--json", "--out"].includes(a) && !(outAt >= 0 && i === outAt + 1));
  const unknownFlag = words.find((a) => a.startsWith("-"));
  if (unknownFlag) throw new Error(`unknown option ${unknownFlag}; see alwrity --help`);
  const [group, command, ...rest] = words;
  if (json && group !== "db" && group !== "user" && group !== "entitlements") throw new Error(`--json is for alwrity db info, alwrity user and alwrity entitlements only`);

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
    if (out !== undefined && command !== "export") throw new Error("--out is for alwrity user export only");
    return runUserCommand(command as UserCommand, rest[0], { json, out });
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
  if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; see alwrity db ${command} --help`);
  if (json && group === "db" && !["info", "top", "audit"].includes(command)) throw new Error(`--json is for alwrity db info, db top and db audit only`);
  if (help) return console.log(commandHelp(command as DbCommand));
  await runDbCommand(command as DbCommand, { json });
});
