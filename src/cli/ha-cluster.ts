#!/usr/bin/env node
/**
 * `npm run ha:up` / `npm run ha:down` / `npm run ha:status`: the local
 * high-availability PostgreSQL 15 (etcd, two Patroni members, HAProxy; see
 * src/ops/ha-cluster.ts and docs/high-availability.md) in `.data/ha-cluster`
 * (or ALWRITY_HA_DIR). `up` leaves it running and prints the DATABASE_ADMIN_URL
 * that points the project at it through HAProxy; `down` stops every process it
 * started and deletes the folder.
 */
import path from "node:path";
import { PROJECT_ROOT } from "../config.ts";
import { openHaCluster, patroniStatus, startHaCluster, stopHaCluster } from "../ops/ha-cluster.ts";
import { runCli } from "./run-cli.ts";

const dir = path.resolve(process.env.ALWRITY_HA_DIR ?? path.join(PROJECT_ROOT, ".data", "ha-cluster"));

runCli(async ([command]) => {
  switch (command) {
    case "up": {
      const cluster = await startHaCluster(dir);
      console.log(`high-availability cluster up in ${path.relative(PROJECT_ROOT, dir) || dir}`);
      for (const member of cluster.members) console.log(`  ${member.name}: PostgreSQL 127.0.0.1:${member.pgPort}, Patroni REST 127.0.0.1:${member.restPort}`);
      console.log(`  etcd 127.0.0.1:${cluster.etcdPort}, HAProxy (the primary) 127.0.0.1:${cluster.haproxyPort}`);
      console.log(`point the project at it:\n  DATABASE_ADMIN_URL=${cluster.adminUrl} npm start`);
      return;
    }
    case "status": {
      const cluster = openHaCluster(dir);
      for (const member of cluster.members) {
        const role = (await patroniStatus(member, "/primary")) === 200 ? "primary" : (await patroniStatus(member, "/sync")) === 200 ? "synchronous standby" : (await patroniStatus(member, "/replica")) === 200 ? "standby" : "down";
        console.log(`${member.name}: ${role}`);
      }
      console.log(`DATABASE_ADMIN_URL=${cluster.adminUrl}`);
      return;
    }
    case "down":
      await stopHaCluster(dir);
      console.log(`high-availability cluster in ${path.relative(PROJECT_ROOT, dir) || dir} stopped and deleted`);
      return;
    default:
      throw new Error(`usage: ha-cluster <up|status|down> (got ${command ?? "nothing"})`);
  }
});
