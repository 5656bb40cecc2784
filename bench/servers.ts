/**
 * Embedded PostgreSQL servers for the benchmark. The data set is generated once
 * into a seed data directory; every case then starts its own server on a copy
 * of it (its own throw-away directory), so no case inherits another's caches,
 * bloat or new rows, and loading a million rows happens once per run.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { loadConfig } from "../src/config.ts";
import { openDeployment, type Deployment } from "../src/bootstrap/deployment.ts";
import { migrateAll } from "../src/bootstrap/migrations.ts";
import { loadDataset, type DatasetShape } from "./dataset.ts";

export interface BenchServers {
  /** Where throw-away files of this run go (deleted by cleanup). */
  readonly root: string;
  /** Seconds it took to generate and load the data set. */
  readonly loadSeconds: number;
  /** A server on a fresh copy of the loaded data; close() stops it and deletes the copy. */
  fresh(label: string): Promise<Deployment>;
  cleanup(): void;
}

const embeddedConfig = (dataDir: string) => loadConfig({ ENVIRONMENT: "test", EMBEDDED_PG_DATA_DIR: dataDir, EMBEDDED_PG_PORT: "0" });

/**
 * A pg pool's end() resolves before its connections have finished closing; a
 * server stopped at that moment terminates them, and the pool logs each one as
 * lost. Waiting (briefly) for the client backends to leave keeps the log clean.
 */
async function connectionsGone(adminUrl: string, timeoutMs = 3000): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const { rows } = await client.query(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await client.end();
  }
}

export async function prepareServers(shape: DatasetShape): Promise<BenchServers> {
  const root = mkdtempSync(path.join(tmpdir(), "alwrity-bench-"));
  chmodSync(root, 0o755); // the embedded server's OS user must be able to enter it
  const seed = path.join(root, "seed", "data");
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  let loadSeconds: number;
  try {
    const started = performance.now();
    const deployment = await openDeployment(embeddedConfig(seed));
    try {
      await migrateAll(deployment);
      await loadDataset(deployment, shape);
    } finally {
      await deployment.close();
    }
    loadSeconds = (performance.now() - started) / 1000;
  } catch (error) {
    cleanup();
    throw error;
  }

  return {
    root,
    loadSeconds,
    async fresh(label) {
      const folder = path.join(root, label);
      const dataDir = path.join(folder, "data");
      mkdirSync(folder, { recursive: true });
      // cp -a keeps the files owned by the server's OS user with their modes.
      execFileSync("cp", ["-a", seed, dataDir]);
      execFileSync("cp", ["-a", `${seed}.credentials.json`, `${dataDir}.credentials.json`]);
      const deployment = await openDeployment(embeddedConfig(dataDir));
      return {
        ...deployment,
        async close() {
          await connectionsGone(deployment.adminUrl!);
          await deployment.close();
          rmSync(folder, { recursive: true, force: true });
        },
      };
    },
    cleanup,
  };
}
