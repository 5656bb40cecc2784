/**
 * Processes that start together migrate in turn: while another holds
 * graphile-migrate's lock on a database, migrateAll waits for it instead of
 * failing (graphile-migrate itself gives up at once), then finds nothing to do.
 */
import pg from "pg";
import { expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { migrateAll } from "../../src/bootstrap/migrations.ts";
import { deploymentEnv } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";

/** graphile-migrate's advisory lock key ("GRAPHILE MIGRATE" on a phone keypad, in its pgReal.js). */
const MIGRATE_LOCK = "4727445306447283";
const HELD_MS = 1500;

test("a migration that finds the lock taken waits for it, then completes", async () => {
  const holder = new pg.Client({ connectionString: testDeployment().databases.platform.migrationUrl });
  await holder.connect();
  const deployment = await openDeployment(loadConfig(deploymentEnv()), { provision: false });
  try {
    // As another process's migration would, from its first statement to its last.
    expect((await holder.query("select pg_try_advisory_lock($1) as locked", [MIGRATE_LOCK])).rows[0].locked).toBe(true);
    const started = Date.now();
    const released = new Promise<void>((resolve) =>
      setTimeout(() => void holder.query("select pg_advisory_unlock($1)", [MIGRATE_LOCK]).then(() => resolve()), HELD_MS),
    );
    await migrateAll(deployment);
    await released;
    expect(Date.now() - started).toBeGreaterThanOrEqual(HELD_MS - 50);
  } finally {
    await holder.end();
    await deployment.close();
  }
}, 60_000);
