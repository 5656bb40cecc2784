#!/usr/bin/env node
/**
 * The `alwrity` command (package.json `bin`; `npx alwrity --help`). Its
 * commands, their options and their help are one table (commands.ts), read by
 * command-line.ts; docs/cli.md lists them.
 *
 * Configuration comes from the environment (see src/config.ts). Errors are
 * one line on stderr and exit code 1 (see run-cli.ts).
 */
import "../api/graphql/graphile-env.ts";
import { runCommandLine } from "./command-line.ts";
import { runCli } from "./run-cli.ts";

runCli(runCommandLine);
