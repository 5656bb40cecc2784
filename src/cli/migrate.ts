#!/usr/bin/env node
/**
 * `npm run db:<command> [-- platform|user_data|all]`: graphile-migrate for one
 * or both databases, with connections and role names filled in from the
 * configuration and the topology spec (see src/bootstrap/migrations.ts).
 * `status` only reads: it never provisions (with DATABASE_ADMIN_URL it reads
 * through the admin login) and needs no shadow database.
 *
 *   migrate   apply committed migrations
 *   watch     apply committed migrations, then re-run current.sql on every save
 *   commit    turn current.sql into the next committed migration
 *   uncommit  move the last committed migration back into current.sql
 *   reset     drop and re-create the database from committed migrations
 *   status    show pending migrations and whether current.sql is empty
 */
import { loadConfig } from "../config.ts";
import { openDeployment } from "../bootstrap/deployment.ts";
import { installJobQueue } from "../bootstrap/job-queue.ts";
import { prepareMigrationSets, refuseOnSharedDatabase, requireExpectedTables } from "../bootstrap/migration-sets.ts";
import { MIGRATE_COMMANDS as COMMANDS, migrationSettings, releaseMigrationPools, runMigrateCommand, type MigrateCommand as Command } from "../bootstrap/migrations.ts";
import { DATABASE_KEYS, DATABASE_SPECS, type DatabaseKey } from "../topology.ts";
import { runCli } from "./run-cli.ts";

const TARGETS: Record<string, readonly DatabaseKey[]> = {
  ...Object.fromEntries(DATABASE_SPECS.map((d) => [d.folder, [d.key]])),
  all: DATABASE_KEYS,
};

runCli(async (args) => {
  const [command, target = "all", ...rest] = args;
  const usage = `usage: migrate <${COMMANDS.join("|")}> [${Object.keys(TARGETS).join("|")}]`;
  if (!COMMANDS.includes(command as Command)) throw new Error(`unknown command "${command ?? ""}"; ${usage}`);
  if (!(target in TARGETS)) throw new Error(`unknown database "${target}"; ${usage}`);
  if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; ${usage}`);
  const keys = TARGETS[target]!;
  if ((command === "commit" || command === "uncommit") && keys.length > 1) {
    throw new Error(`${command} works on one database at a time: name ${DATABASE_SPECS.map((d) => d.folder).join(" or ")}`);
  }
  const deployment = await openDeployment(loadConfig(), { provision: command !== "status" });
  const run = async (key: DatabaseKey) => {
    const settings = migrationSettings(deployment, key, true);
    const status = await runMigrateCommand(command as Command, settings);
    if (status) {
      console.log(`${deployment.endpoints(key).name}: ${status.pending} pending migration(s); current.sql ${status.currentHasChanges ? "has changes" : "is empty"}`);
      // A record that claims every migration while the tables are not there belongs to something else.
      if (status.pending === 0) await requireExpectedTables(deployment, key);
    }
    // The job queue lives beside the platform's migrations and follows them wherever they (re)build it.
    if (key === "platform" && (command === "migrate" || command === "reset")) await installJobQueue(settings.connectionString!, deployment.topology);
  };
  try {
    refuseOnSharedDatabase(deployment, command as Command);
    if (command !== "status") await prepareMigrationSets(deployment);
    if (command === "watch") {
      // Both watchers run side by side until Ctrl-C.
      await Promise.all(keys.map(run));
      await new Promise(() => undefined);
    } else {
      for (const key of keys) await run(key);
    }
  } finally {
    releaseMigrationPools();
    await deployment.close();
  }
});
