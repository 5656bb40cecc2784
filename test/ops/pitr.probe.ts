/**
 * Point-in-time recovery with pgBackRest (Debian's package, fetched into the
 * cache by src/ops/pgbackrest.ts) on a throw-away PostgreSQL 15
 * cluster, with the settings of infra/pgbackrest/pgbackrest.conf (only its
 * paths and port replaced): WAL archived by archive_command, a full backup,
 * rows of set A, a named restore point, rows of set B archived too; the
 * cluster is stopped and restored to the restore point, and exactly set A
 * is there.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { pgBackRest, type PgBackRest } from "../../src/ops/pgbackrest.ts";
import { createPg15Cluster, type Pg15Cluster } from "../support/pg15-cluster.ts";

const SAMPLE = path.join(PROJECT_ROOT, "infra", "pgbackrest", "pgbackrest.conf");
const STANZA = "alwrity";
let cluster: Pg15Cluster;
let tool: PgBackRest;
let config: string;

/** The sample configuration with this cluster's paths: each replaced key must be in the sample. */
function configFor(c: Pg15Cluster): string {
  const replacements: Record<string, string> = {
    "repo1-path": c.folder("repo"),
    "log-path": c.folder("log"),
    "lock-path": c.folder("lock"),
    "pg1-path": c.dataDir,
    "pg1-port": String(c.port),
    "pg1-socket-path": c.socketDir,
  };
  let text = readFileSync(SAMPLE, "utf8");
  for (const [key, value] of Object.entries(replacements)) {
    const line = new RegExp(`^${key}=.*$`, "m");
    if (!line.test(text)) throw new Error(`${SAMPLE} has no ${key}= line`);
    text = text.replace(line, `${key}=${value}`);
  }
  const file = path.join(c.folder("etc"), "pgbackrest.conf");
  writeFileSync(file, text);
  return file;
}

function pgbackrest(...args: string[]): string {
  return cluster.run(tool.bin, [`--config=${config}`, `--stanza=${STANZA}`, ...args], tool.env);
}

beforeAll(async () => {
  tool = pgBackRest("the point-in-time recovery test");
  cluster = await createPg15Cluster();
  config = configFor(cluster);
  cluster.configure(["wal_level = replica", "archive_mode = on", `archive_command = '${tool.command} --config=${config} --stanza=${STANZA} archive-push %p'`]);
  cluster.start();
}, 240_000);

afterAll(() => cluster?.destroy());

const count = async (batch: string) => Number((await cluster.query<{ n: string }>("select count(*) as n from pitr_rows where batch = $1", [batch]))[0]!.n);

test("restored to a named restore point, the cluster holds exactly the rows written before it", async () => {
  await cluster.query("create table pitr_rows (id int primary key, batch text not null)");
  pgbackrest("stanza-create");
  pgbackrest("check");
  pgbackrest("--type=full", "backup");

  await cluster.query("insert into pitr_rows select g, 'A' from generate_series(1, 100) g");
  await cluster.query("select pg_create_restore_point('before_b')");
  await cluster.query("insert into pitr_rows select g, 'B' from generate_series(101, 150) g");
  // check switches the WAL file and waits until it is archived: set B's WAL is in the repository too.
  pgbackrest("check");
  expect([await count("A"), await count("B")]).toEqual([100, 50]);
  const info = JSON.parse(pgbackrest("--output=json", "info")) as { backup: { type: string }[]; archive: { min: string; max: string }[] }[];
  expect(info[0]!.backup.map((b) => b.type)).toEqual(["full"]);

  cluster.stop();
  pgbackrest("--delta", "--type=name", "--target=before_b", "--target-action=promote", "restore");
  cluster.start();
  const deadline = Date.now() + 60_000;
  while ((await cluster.query<{ r: boolean }>("select pg_is_in_recovery() as r"))[0]!.r) {
    if (Date.now() > deadline) throw new Error(`recovery did not finish within 60 s:\n${readFileSync(path.join(cluster.base, "server.log"), "utf8").slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect([await count("A"), await count("B")]).toEqual([100, 0]);
  expect(readFileSync(path.join(cluster.base, "server.log"), "utf8")).toMatch(/recovery stopping at restore point "before_b"/);
}, 300_000);
