#!/usr/bin/env node
/**
 * `npm run token -- [--admin] <email or name>`: prints a bearer token for a
 * demo user that the development server accepts (development only). Paste it
 * into GraphiQL's headers as {"Authorization": "Bearer <token>"}. With
 * --admin the token carries the admin claim (ADMIN_CLAIM) as well, for the
 * admin analytics (/admin/analytics/…).
 */
import { parseArgs } from "node:util";
import { loadConfig, type AdminClaim } from "../config.ts";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../api/auth/dev-keys.ts";
import { runCli } from "./run-cli.ts";

const USAGE = "usage: npm run token -- [--admin] <email or name>   (prints a development sign-in token; --admin adds the ADMIN_CLAIM claim)";

/** The claims that hold the admin claim's value at its dotted path: metadata.role=admin gives { metadata: { role: "admin" } }. */
function adminClaims(claim: AdminClaim): Record<string, unknown> {
  return claim.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), claim.value) as Record<string, unknown>;
}

runCli(async (args) => {
  const { values, positionals } = parseArgs({ args, options: { admin: { type: "boolean" }, help: { type: "boolean", short: "h" } }, allowPositionals: true });
  if (values.help || positionals.length === 0) throw new Error(USAGE);
  const config = loadConfig();
  if (config.environment !== "development") {
    throw new Error(`development sign-in is off when ENVIRONMENT=${config.environment}; use a Clerk session token${values.admin ? " from an account whose claims hold ADMIN_CLAIM" : ""}`);
  }
  const claim = config.clerk.adminClaim;
  if (values.admin && claim === undefined) {
    throw new Error("--admin needs ADMIN_CLAIM (the claim that makes a platform admin), e.g. ADMIN_CLAIM=metadata.role=admin, set here and for the server");
  }
  const identity = devIdentity(positionals.join(" "));
  const extra = values.admin && claim ? adminClaims(claim) : {};
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...extra, ...identity, iss: DEV_ISSUER });
  const admin = values.admin && claim ? `, carrying the admin claim ${claim.path.join(".")}=${claim.value}` : "";
  process.stderr.write(`token for ${identity.name} <${identity.email}> (${identity.sub})${admin}, valid 8 hours:\n`);
  console.log(token);
  process.stderr.write(`\nIn GraphiQL (${`http://localhost:${config.api.port}/graphiql`}), open Headers and paste:\n{"Authorization": "Bearer ${token}"}\n`);
});
