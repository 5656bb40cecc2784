/**
 * Reads an `alwrity` command line against the table in commands.ts and runs
 * the command it names, or prints the help the table makes. Options are read
 * by node:util's parseArgs (not strict: a missing value or an option the
 * command does not take gets a message of ours naming the option).
 */
import { parseArgs } from "node:util";
import { COMMANDS, OPTIONS, type Command, type CommandInput, type OptionName } from "./commands.ts";

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;
const ALIASES = COMMANDS.filter((c) => c.alias !== undefined);
const list = (items: readonly string[]) => new Intl.ListFormat("en", { type: "conjunction" }).format(items);

/** The words commands share as their first word: db, user, usage, entitlements. */
const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!))];

function optionUsage(name: OptionName): string {
  const option = OPTIONS[name];
  return `[--${name}${"placeholder" in option ? ` ${option.placeholder}` : ""}]`;
}

export function commandUsage(command: Command): string {
  return ["alwrity", command.name, command.args, ...(command.options ?? []).map(optionUsage)].filter(Boolean).join(" ");
}

function commandHelp(command: Command): string {
  const alias = command.alias ? `\n\nAlso: alwrity ${command.alias} (and npm start -- ${command.alias}), the design document's start-up flag.` : "";
  return `usage: ${commandUsage(command)}\n\n${command.summary}${alias}`;
}

function listing(commands: readonly Command[], prefix = ""): string {
  const heads = commands.map((c) => [c.name.slice(prefix.length), c.args].filter(Boolean).join(" "));
  const width = Math.max(...heads.map((h) => h.length));
  return commands.map((c, i) => `  ${heads[i]!.padEnd(width)}  ${c.summary}`).join("\n");
}

export function mainHelp(): string {
  return `usage: alwrity <command> [--help]

commands:
${listing(COMMANDS)}

start-up flags (the design document's): ${ALIASES.map((c) => `--${c.alias!.slice(2)} = alwrity ${c.name}`).join(", ")}

Configuration comes from environment variables (PLATFORM_DATABASE_URL, USER_DATA_DATABASE_URL,
DATABASE_ADMIN_URL, DB_POOL_*, ...); with none set, an embedded PostgreSQL is started.`;
}

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `usage: alwrity ${group} <${members.map((c) => c.name.slice(group.length + 1)).join("|")}> [--help]\n\n${listing(members, `${group} `)}`;
}

interface Parsed {
  readonly words: string[];
  readonly values: Record<string, string | boolean | undefined>;
  readonly given: string[];
}

function parse(args: string[]): Parsed {
  const options = {
    ...HELP_OPTION,
    ...Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type }])),
    ...Object.fromEntries(ALIASES.map((c) => [c.alias!.slice(2), { type: "boolean" as const }])),
  };
  const { positionals, values, tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const given: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (!Object.hasOwn(options, token.name)) throw new Error(`unknown option ${token.rawName}; see alwrity --help`);
    const option = OPTIONS[token.name as OptionName];
    if (option?.type === "string" && (token.value === undefined || token.value.startsWith("-"))) throw new Error(`${token.rawName} needs ${option.value}`);
    if (option?.type === "boolean" && token.value !== undefined) throw new Error(`${token.rawName} takes no value`);
    if (token.name !== "help") given.push(token.name);
  }
  return { words: positionals, values, given };
}

/** The command the words name, with the words after its name. */
function resolve(words: string[]): { command: Command; rest: string[] } | { group: string } | undefined {
  // The longest name first: "dev seed" before "dev".
  for (const command of [...COMMANDS].sort((a, b) => b.name.split(" ").length - a.name.split(" ").length)) {
    const name = command.name.split(" ");
    if (name.every((word, i) => words[i] === word)) return { command, rest: words.slice(name.length) };
  }
  if (words.length >= 1 && GROUPS.includes(words[0]!)) return { group: words[0]! };
  return undefined;
}

/** Runs one `alwrity` command line; anything wrong in it is an Error naming the problem. */
export async function runCommandLine(args: string[]): Promise<void> {
  const { words, values, given } = parse(args);
  const help = values.help === true;
  const alias = ALIASES.find((c) => values[c.alias!.slice(2)] === true);
  if (alias) {
    const others = [...given.filter((name) => name !== alias.alias!.slice(2)), ...words];
    if (others.length > 0) throw new Error(`${alias.alias} stands for alwrity ${alias.name} and takes nothing else, got ${others[0]}`);
    return help ? console.log(commandHelp(alias)) : alias.run({ args: [], json: false });
  }
  if (words.length === 0 || (words[0] === "help" && words.length === 1)) return console.log(mainHelp());
  const found = resolve(words[0] === "help" ? words.slice(1) : words);
  if (found === undefined) throw new Error(`unknown command "${words[0]}"; see alwrity --help`);
  if ("group" in found) {
    const { group } = found;
    if (help && words.length === 1) return console.log(groupHelp(group));
    const names = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.slice(group.length + 1));
    // As before the table: an unknown db command is named; the other groups list their commands.
    if (words.length > 1 && group === "db") throw new Error(`unknown command "${group} ${words[1]}"; see alwrity ${group} --help`);
    throw new Error(`alwrity ${group} needs a command (${names.join(", ")}); see alwrity ${group} --help`);
  }
  const { command, rest } = found;
  if (help || words[0] === "help") return console.log(commandHelp(command));
  for (const name of given) {
    if (!(command.options ?? []).includes(name as OptionName)) {
      const takers = COMMANDS.filter((c) => (c.options ?? []).includes(name as OptionName)).map((c) => c.name);
      throw new Error(`--${name} is for alwrity ${list(takers)} only`);
    }
  }
  if (rest.length > (command.maxArgs ?? 0)) throw new Error(`unexpected argument "${rest[command.maxArgs ?? 0]}"; see alwrity ${command.name} --help`);
  const input: CommandInput = {
    args: rest,
    json: values.json === true,
    now: values.now === true,
    out: values.out as string | undefined,
    into: values.into as string | undefined,
    from: values.from as string | undefined,
    to: values.to as string | undefined,
    olderThan: values["older-than"] as string | undefined,
  };
  await command.run(input);
}

/** `npm start [-- <flag>]`: no argument serves the platform; the design document's start-up flags run their commands. */
export async function runStartLine(args: string[], serve: () => Promise<void>): Promise<void> {
  if (args.length === 0) return serve();
  if (!ALIASES.some((c) => c.alias === args[0])) {
    throw new Error(`npm start takes no argument, or one of the start-up flags ${new Intl.ListFormat("en", { type: "disjunction" }).format(ALIASES.map((c) => c.alias!))}; got ${args[0]} (see alwrity --help)`);
  }
  return runCommandLine(args);
}
