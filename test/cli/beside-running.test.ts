/**
 * The command line beside a running `npm start` on the embedded default: `db:status`,
 * `db:migrate` and `alwrity db test` reach the platform's running server (its postmaster.pid
 * names the port) instead of refusing the data directory as in use, and the API keeps serving
 * throughout; afterwards the platform still stops cleanly.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
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
}, 180_000);
