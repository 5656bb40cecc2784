#!/usr/bin/env node
/**
 * `npm run db:<command> [-- platform|user_data|all]`: graphile-migrate for one
 * or both databases, with connections and role names filled in from the
 * configuration and the topology spec (see src/db/migrations.ts).
 *
 *   migrate   apply committed migrations
 *   watch     apply committed migrations, then re-run current.sql on every save
 *   commit    turn current.sql into the next committed migration
 *   uncommit  move the last committed migration back into current.sql
 *   reset     drop and re-create the database from committed migrations
 *   status    show pending migrations and whether current.sql is empty
 */
import * as gm from "graphile-migrate";
import { loadConfig } from "../config.ts";
import { openDeployment } from "../db/deployment.ts";
import { DATABASE_KEYS, migrationSettings, releaseMigrationPools } from "../db/migrations.ts";
import type { DatabaseKey } from "../topology.ts";
import { runCli } from "./run-cli.ts";

const COMMANDS = ["migrate", "watch", "commit", "uncommit", "reset", "status"] as const;
type Command = (typeof COMMANDS)[number];
const TARGETS: Record<string, readonly DatabaseKey[]> = { platform: ["platform"], user_data: ["userData"], all: DATABASE_KEYS };

runCli(async (args) => {
  const [command, target = "all", ...rest] = args;
  const usage = `usage: migrate <${COMMANDS.join("|")}> [${Object.keys(TARGETS).join("|")}]`;
  if (!COMMANDS.includes(command as Command)) throw new Error(`unknown command "${command ?? ""}"; ${usage}`);
  if (!(target in TARGETS)) throw new Error(`unknown database "${target}"; ${usage}`);
  if (rest.length > 0) throw new Error(`unexpected argument "${rest[0]}"; ${usage}`);
  const keys = TARGETS[target]!;
  if ((command === "commit" || command === "uncommit") && keys.length > 1) {
    throw new Error(`${command} works on one database at a time: name platform or user_data`);
  }
  const deployment = await openDeployment(loadConfig());
  const run = async (key: DatabaseKey) => {
    const settings = migrationSettings(deployment, key, true);
    switch (command as Command) {
      case "migrate":
        return gm.migrate(settings);
      case "watch":
        return gm.watch(settings);
      case "commit":
        return gm.commit(settings);
      case "uncommit":
        return gm.uncommit(settings);
      case "reset":
        return gm.reset(settings);
      case "status": {
        const status = await gm.status(settings);
        console.log(`${deployment.endpoints(key).name}: ${status.remainingMigrations?.length ?? 0} pending migration(s); current.sql ${status.hasCurrentMigration ? "has changes" : "is empty"}`);
        return;
      }
    }
  };
  try {
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
