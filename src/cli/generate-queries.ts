#!/usr/bin/env node
/**
 * `npm run generate:queries [-- --check]`: regenerates generated/<database>/
 * *.queries.ts from db/<database>/queries/*.sql against a freshly migrated
 * database. With no database configured it uses a throw-away embedded server
 * (not the development one), so the types follow the committed migrations
 * only. --check writes nothing and fails when the committed files are stale.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateQueryTypes, GENERATED_ROOT, staleFiles } from "../tooling/query-types.ts";
import { loadConfig, withThrowAwayEmbedded } from "../config.ts";
import { openMigratedDeployment } from "../bootstrap/migrations.ts";
import { runCli } from "./run-cli.ts";

runCli(async (args) => {
  const check = args.includes("--check");
  if (args.some((a) => a !== "--check")) throw new Error("usage: generate:queries [--check]");
  const config = loadConfig();
  const deployment = await openMigratedDeployment(withThrowAwayEmbedded(config));
  const out = check ? mkdtempSync(path.join(tmpdir(), "alwrity-queries-")) : GENERATED_ROOT;
  try {
    const urls = { platform: deployment.platform.migrationUrl, userData: deployment.userData.migrationUrl };
    if (!urls.platform || !urls.userData) {
      throw new Error("generating query types needs the owner logins: set PLATFORM_MIGRATION_DATABASE_URL and USER_DATA_MIGRATION_DATABASE_URL");
    }
    const written = await generateQueryTypes({ platform: urls.platform, userData: urls.userData }, out);
    if (check) {
      const stale = staleFiles(out);
      if (stale.length > 0) throw new Error(`query types are out of date (run npm run generate:queries): ${stale.join("; ")}`);
      console.log(`query types are up to date (${written.length} files)`);
    } else {
      for (const file of written) console.log(`wrote generated/${file}`);
    }
  } finally {
    if (check) rmSync(out, { recursive: true, force: true });
    await deployment.close();
  }
});
