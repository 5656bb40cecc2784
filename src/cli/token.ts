#!/usr/bin/env node
/**
 * `npm run token -- <email or name>`: prints a bearer token for a demo user
 * that the development server accepts (development only). Paste it into
 * GraphiQL's headers as {"Authorization": "Bearer <token>"}.
 */
import { loadConfig } from "../config.ts";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../api/auth/dev-keys.ts";
import { runCli } from "./run-cli.ts";

runCli(async (args) => {
  if (args.length === 0 || args[0] === "--help") {
    throw new Error("usage: npm run token -- <email or name>   (prints a development sign-in token)");
  }
  const config = loadConfig();
  if (config.environment !== "development") {
    throw new Error(`development sign-in is off when ENVIRONMENT=${config.environment}; use a Clerk session token`);
  }
  const identity = devIdentity(args.join(" "));
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...identity, iss: DEV_ISSUER });
  process.stderr.write(`token for ${identity.name} <${identity.email}> (${identity.sub}), valid 8 hours:\n`);
  console.log(token);
  process.stderr.write(`\nIn GraphiQL (${`http://localhost:${config.api.port}/graphiql`}), open Headers and paste:\n{"Authorization": "Bearer ${token}"}\n`);
});
