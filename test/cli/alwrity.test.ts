/**
 * The `alwrity` command as a user runs it: a child process on the project's
 * Node, configured through its environment to use the test deployment.
 */
import path from "node:path";
import { describe, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { unreachable } from "../support/closed-port.ts";
import { runScript, type Run } from "../support/run-script.ts";
import { deploymentEnv } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { COMMANDS } from "../../src/cli/commands.ts";

const deployment = testDeployment();
const CLI = path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts");

function alwrity(args: string[], env: Record<string, string> = deploymentEnv(), until?: { line: RegExp; then: NodeJS.Signals }): Promise<Run> {
  return runScript(CLI, args, env, until);
}

const names = [deployment.databases.platform.name, deployment.databases.userData.name];
const START = path.join(PROJECT_ROOT, "src", "cli", "start.ts");

describe("alwrity", () => {
  test.each([[["--help"]], [["db", "--help"]], [["db", "test", "--help"]], [["db", "init", "--help"]], [["db", "info", "--help"]], [["db", "verify-rls", "--help"]], [["db", "backup", "--help"]], [["db", "restore", "--help"]], [["dev", "--help"]]])(
    "%j prints usage and exits 0",
    async (args) => {
      const run = await alwrity(args, {});
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^usage: alwrity/);
    },
  );

  test("the help is made from the command table: every command with its summary, and each command's usage from its options", async () => {
    const help = await alwrity(["--help"], {});
    const lines = help.stdout.split("\n");
    for (const command of COMMANDS) {
      const head = `  ${[command.name, command.args].filter(Boolean).join(" ")} `;
      expect(lines.some((line) => line.startsWith(head) && line.endsWith(`  ${command.summary}`)), `${command.name} is not in alwrity --help`).toBe(true);
    }
    expect((await alwrity(["user", "export", "--help"], {})).stdout).toMatch(/^usage: alwrity user export <user id> \[--out <file>\]\n\neverything about the user/);
    expect(await alwrity(["db", "info", "--to", "2020-01-01"], {})).toEqual({ code: 1, stdout: "", stderr: "error: --to is for alwrity analytics only\n" });
    expect(await alwrity(["db", "test", "--frobnicate"], {})).toEqual({ code: 1, stdout: "", stderr: "error: unknown option --frobnicate; see alwrity --help\n" });
    expect(await alwrity(["dev", "now"], {})).toEqual({ code: 1, stdout: "", stderr: 'error: unexpected argument "now"; see alwrity dev --help\n' });
  }, 120_000);

  test("the design document's start-up flags: alwrity --test-databases and npm start -- --test-databases are db test, --init-databases is db init", async () => {
    const dbTest = await alwrity(["db", "test"]);
    for (const run of [await alwrity(["--test-databases"]), await runScript(START, ["--test-databases"], deploymentEnv(), undefined, 60_000)]) {
      expect(run).toMatchObject({ code: 0, stderr: "" });
      // Same table as db test (latencies, and with them the column widths, differ).
      const shape = (text: string) => text.replace(/[\d.]+ ms/g, "").replace(/[ -]+/g, " ");
      expect(shape(run.stdout)).toBe(shape(dbTest.stdout));
    }
    for (const run of [await alwrity(["--init-databases"]), await runScript(START, ["--init-databases"], deploymentEnv(), undefined, 60_000)]) {
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout).toBe(names.map((n) => `${n}: provisioned where needed and migrated\n`).join(""));
    }
    expect(await alwrity(["--init-databases", "db", "test"])).toEqual({ code: 1, stdout: "", stderr: "error: --init-databases stands for alwrity db init and takes nothing else, got db\n" });
    expect(await runScript(START, ["--frobnicate"], {})).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: npm start takes no argument, or one of the start-up flags --test-databases, --init-databases, or --dev; got --frobnicate (see alwrity --help)\n",
    });
  }, 300_000);

  test("an unknown command is one clear line and exit 1", async () => {
    expect(await alwrity(["db", "frobnicate"])).toEqual({ code: 1, stdout: "", stderr: 'error: unknown command "db frobnicate"; see alwrity db --help\n' });
  });

  test.each([
    [["db", "restore"], "alwrity db restore needs the backup folder: alwrity db restore <dir> [--into prefix]"],
    [["db", "backup", "--into", "x"], "--into is for alwrity db restore only"],
    [["db", "restore", "some-dir", "--out", "x"], "--out is for alwrity db backup and user export only"],
    [["db", "backup", "--out"], "--out needs a file name (a folder for db backup)"],
  ])("%j is one clear line and exit 1", async (args, message) => {
    expect(await alwrity(args)).toEqual({ code: 1, stdout: "", stderr: `error: ${message}\n` });
  });

  test("bad configuration: exit 1 with the variable named, no password shown", async () => {
    const run = await alwrity(["db", "test"], { ...deploymentEnv(), DB_POOL_TIMEOUT: "soon" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: Invalid configuration:\n {2}- DB_POOL_TIMEOUT must be a number of seconds greater than 0\n$/);
  });

  test("analytics prints a report as a table, or as JSON with --json; a bad report or date is one clear line", async () => {
    const table = await alwrity(["analytics", "usage-by-plan", "--from", "2020-01-01"]);
    expect(table).toMatchObject({ code: 0, stderr: "" });
    expect(table.stdout).toMatch(/^usage-by-plan from 2020-01-01T00:00:00.000Z to \S+\n\n(plan\s+tokens_used\s+cost_usd\s+events\s+users\n|\(no rows\))/);
    const json = await alwrity(["analytics", "monthly-active-users", "--from", "2020-01-01", "--to", "2100-01-01", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ report: "monthly-active-users", from: "2020-01-01T00:00:00.000Z", to: "2100-01-01T00:00:00.000Z", rows: expect.any(Array) });
    expect(await alwrity(["analytics", "everything"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: alwrity analytics needs a report \(daily-active-users, .*\), got "everything"\n$/) });
    expect(await alwrity(["analytics", "heaviest-users", "--from", "last week"])).toMatchObject({
      code: 1,
      stderr: 'error: from must be a date (YYYY-MM-DD) or an ISO timestamp, got "last week"\n',
    });
    expect(await alwrity(["usage", "detach-partitions"])).toMatchObject({ code: 1, stderr: "error: alwrity usage detach-partitions needs --older-than <YYYY-MM-DD>\n" });
  }, 120_000);

  test("db test prints a row per database and exits 0", async () => {
    const run = await alwrity(["db", "test"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    for (const name of names) expect(run.stdout).toMatch(new RegExp(`${name}\\s+yes\\s+[\\d.]+ ms\\s+\\d+.*${deployment.topology.role("authenticator").name}`));
  });

  test("db test with an unreachable database exits 1 naming it", async () => {
    const run = await alwrity(["db", "test"], { ...deploymentEnv(), USER_DATA_DATABASE_URL: await unreachable(deployment.databases.userData.apiUrl) });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`${names[1]}\\s+no`));
    expect(run.stderr).toMatch(new RegExp(`^error: ${names[1]} is unreachable: cannot connect to ${names[1]} at 127\\.0\\.0\\.1:\\d+: .*ECONNREFUSED.*\\n$`));
    expect(run.stderr).not.toContain(new URL(deployment.databases.userData.apiUrl).password);
  });

  test("db init migrates (nothing pending) and exits 0", async () => {
    const run = await alwrity(["db", "init"]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toBe(names.map((n) => `${n}: provisioned where needed and migrated\n`).join(""));
  });

  test("db info prints tables with RLS per database; --json gives the same as data", async () => {
    const human = await alwrity(["db", "info"]);
    expect(human).toMatchObject({ code: 0, stderr: "" });
    expect(human.stdout).toMatch(/user_data\.user_projects\s+\S+\s+forced\s+delete_own \(delete\), insert_own \(insert\)/);
    expect(human.stdout).toMatch(/migrations: 000001\.sql/);

    const json = await alwrity(["db", "info", "--json"]);
    expect(json.code).toBe(0);
    const infos = JSON.parse(json.stdout) as { database: string; tables: { table: string; rlsForced: boolean }[] }[];
    expect(infos.map((i) => i.database)).toEqual(names);
    expect(infos[1]!.tables.every((t) => t.rlsForced)).toBe(true);
  });

  test("db verify-rls passes on the test deployment", async () => {
    const run = await alwrity(["db", "verify-rls"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain(`${names[1]}: 7 per-user tables, all with forced row-level security`);
  });

  test.each([[["dev"]], [["--dev"]]])("%j starts the platform, prints its summary, and stops cleanly on Ctrl-C", async (args) => {
    const run = await alwrity(args, deploymentEnv(), { line: /ready; press Ctrl-C to stop/, then: "SIGINT" });
    expect(run.code).toBe(0);
    for (const name of names) expect(run.stdout).toContain(`${name}: postgresql://`);
    expect(run.stdout).not.toContain(new URL(deployment.databases.platform.apiUrl).password);
  });
});
