/**
 * The command line beside a running `npm start` on the embedded default: `db:status`,
 * `db:migrate`, `alwrity db test` and `alwrity db backup` reach the platform's running server
 * (its postmaster.pid names the port) instead of refusing the data directory as in use, and the
 * API keeps serving throughout; the backup restores (no pg_dump of the embedded server's
 * version exists here) into a new deployment on the same server, verified; afterwards the
 * platform still stops cleanly.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { gql, startApiProcess } from "../support/api-process.ts";
import { runScript } from "../support/run-script.ts";

const parent = mkdtempSync(path.join(tmpdir(), "alwrity-beside-"));
chmodSync(parent, 0o755); // the embedded server's OS user must be able to enter it
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const env = { ENVIRONMENT: "test", HOME: process.env.HOME ?? "", EMBEDDED_PG_DATA_DIR: path.join(parent, "pg"), EMBEDDED_PG_PORT: "0" };
const MIGRATE = path.join(PROJECT_ROOT, "src", "cli", "migrate.ts");
const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");

test("db:status, db:migrate and db test run beside a running npm start, which keeps serving", async () => {
  const api = await startApiProcess(env);
  try {
    const token = api.token("user_beside");
    const project = (name: string) => gql(api.url, `mutation { createProject(input: { project: { projectName: "${name}", projectType: BLOG } }) { project { projectName } } }`, token);
    expect((await project("before")).body?.errors).toBeUndefined();

    const status = await runScript(MIGRATE, ["status"], env, undefined, 60_000);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.match(/0 pending migration\(s\)/g)).toHaveLength(2);

    const migrate = await runScript(MIGRATE, ["migrate"], env, undefined, 60_000);
    expect(migrate.code, migrate.stderr).toBe(0);

    const dbTest = await runScript(CLI, ["db", "test"], env, undefined, 60_000);
    expect(dbTest.code, dbTest.stderr).toBe(0);
    expect(dbTest.stdout).toMatch(/alwrity_user_data\s+yes/);

    const backupDir = path.join(parent, "backup");
    const backup = await runScript(CLI, ["db", "backup", "--out", backupDir], env, undefined, 120_000);
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(backupDir, "manifest.json"), "utf8")).server.major).toBe(18);
    // Restoring makes a new deployment, through the embedded server's superuser.
    const port = readFileSync(path.join(env.EMBEDDED_PG_DATA_DIR, "postmaster.pid"), "utf8").split("\n")[3];
    const superuser = JSON.parse(readFileSync(`${env.EMBEDDED_PG_DATA_DIR}.credentials.json`, "utf8")).superuser as string;
    const adminUrl = `postgresql://postgres:${encodeURIComponent(superuser)}@127.0.0.1:${port}/postgres`;
    const restore = await runScript(CLI, ["db", "restore", backupDir, "--into", "restored"], { ENVIRONMENT: "test", HOME: env.HOME, DATABASE_ADMIN_URL: adminUrl }, undefined, 180_000);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain("verified");

    // The commands left the server running and the API's logins working.
    expect(api.alive()).toBe(true);
    expect((await project("after")).body?.errors).toBeUndefined();
    const listed = await gql(api.url, "{ projects { totalCount } }", token);
    expect(listed.body?.data.projects.totalCount).toBe(2);

    api.child.kill("SIGINT");
    expect(await api.exited).toBe(0);
  } finally {
    await api.kill();
  }
}, 400_000);
