#!/usr/bin/env node
/**
 * `npm start`: brings the platform up (see src/platform.ts) and keeps it
 * running until Ctrl-C, which stops everything cleanly.
 */
import "../api/graphql/graphile-env.ts";
import { runCli } from "./run-cli.ts";
import { servePlatform } from "./serve-platform.ts";

runCli(servePlatform);
