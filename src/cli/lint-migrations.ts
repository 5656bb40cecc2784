#!/usr/bin/env node
/**
 * `npm run db:lint`: the migration lint (src/tooling/migration-lint.ts) on
 * every committed migration and current.sql; exit 1 naming each finding that
 * no reviewed exception excuses.
 */
import { lintMigrations } from "../tooling/migration-lint.ts";
import { runCli } from "./run-cli.ts";

runCli(async () => {
  const report = lintMigrations();
  const problems = [
    ...report.failures.map((f) => `${f.migration}:${f.line}: ${f.rule}: ${f.message}`),
    ...report.staleExceptions,
    ...report.unreasonedIgnores,
  ];
  for (const p of problems) console.log(p);
  if (problems.length > 0) {
    throw new Error(`${problems.length} migration lint problem(s); fix the migration (CONCURRENTLY in a --! no-transaction migration, …) or add a reasoned exception (CONTRIBUTING.md, "Migrations that cannot lock production")`);
  }
  console.log(`${report.files} migration file(s): no unexcused finding`);
});
