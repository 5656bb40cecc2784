/**
 * A PostgreSQL server of the test's own (embedded, on a data directory and a
 * port that survive restarts), provisioned and migrated like a real
 * deployment, for tests that stop, restart or kill the server. Never the
 * shared test server, which other test files are using.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openMigratedDeployment } from "../../src/bootstrap/migrations.ts";
import { freePort, startEmbeddedServer, type EmbeddedServer } from "../../src/bootstrap/embedded-server.ts";

export interface OwnServer {
  readonly adminUrl: string;
  /** Configuration that points the API at this server's databases by URL (no provisioning). */
  readonly env: Record<string, string>;
  /** The platform and user-data databases as their owner (for checks that must see every row). */
  readonly ownerUrls: { platform: string; userData: string };
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL to the postmaster, as a crash or an OOM killer would. */
  kill(): void;
  /** SIGQUIT to the postmaster (`pg_ctl stop -m immediate`: no checkpoint, recovery at the next start); waits for it to exit. */
  stopImmediately(): Promise<void>;
  /** Stops the server if it runs and deletes its data. */
  destroy(): Promise<void>;
}

export async function startOwnServer(): Promise<OwnServer> {
  const parent = mkdtempSync(path.join(tmpdir(), "alwrity-own-pg-"));
  chmodSync(parent, 0o755); // the server's OS user must be able to enter it
  const dataDir = path.join(parent, "data");
  const port = await freePort();
  const superuserPassword = randomBytes(12).toString("hex");
  const boot = () => startEmbeddedServer({ dataDir, port, superuserPassword });
  let server: EmbeddedServer | undefined = await boot();

  const deployment = await openMigratedDeployment(loadConfig({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: server.adminUrl }));
  await deployment.close();
  const env = {
    PLATFORM_DATABASE_URL: deployment.platform.apiUrl,
    USER_DATA_DATABASE_URL: deployment.userData.apiUrl,
    PLATFORM_MIGRATION_DATABASE_URL: deployment.platform.migrationUrl!,
    USER_DATA_MIGRATION_DATABASE_URL: deployment.userData.migrationUrl!,
  };

  const postmasterPid = () => Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const own: OwnServer = {
    adminUrl: server.adminUrl,
    env,
    ownerUrls: { platform: deployment.platform.migrationUrl!, userData: deployment.userData.migrationUrl! },
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      // After a kill, the old backends take a moment to notice and leave; until then a new server refuses.
      for (let attempt = 0; ; attempt++) {
        try {
          server = await boot();
          return;
        } catch (error) {
          if (attempt >= 40) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },
    kill() {
      process.kill(postmasterPid(), "SIGKILL");
      server = undefined;
    },
    async stopImmediately() {
      const pid = postmasterPid();
      process.kill(pid, "SIGQUIT");
      server = undefined;
      for (let waited = 0; waited < 30_000; waited += 50) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the postmaster (pid ${pid}) did not exit within 30 s of SIGQUIT`);
    },
    async destroy() {
      await own.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
  return own;
}
