#!/usr/bin/env node
/**
 * `npm start`: brings the platform up (see src/platform.ts) and keeps it
 * running until Ctrl-C, which stops everything cleanly. The design
 * document's start-up flags work here too: `npm start -- --test-databases`,
 * `-- --init-databases`, `-- --dev` (what `alwrity db test`, `db init`, `dev` do).
 */
import "../api/graphql/graphile-env.ts";
import { runStartLine } from "./command-line.ts";
import { runCli } from "./run-cli.ts";
import { servePlatform } from "./serve-platform.ts";

runCli((args) => runStartLine(args, servePlatform));
