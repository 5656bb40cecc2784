/**
 * `npm start` end to end, as a child process on its own embedded server: it
 * comes up, answers GraphQL, stops cleanly on Ctrl-C (SIGINT), and a second
 * start reuses the data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../src/config.ts";
import { DEV_ISSUER, devIdentity, loadOrCreateDevKeys, signToken } from "../../src/api/auth/dev-keys.ts";

const parent = mkdtempSync(path.join(tmpdir(), "alwrity-start-"));
chmodSync(parent, 0o755); // the embedded server's OS user must be able to enter it
afterAll(() => rmSync(parent, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

async function start(): Promise<Started> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src/cli/start.ts")], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, ENVIRONMENT: "development", EMBEDDED_PG_DATA_DIR: path.join(parent, "pg"), EMBEDDED_PG_PORT: "0", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const match = /GraphQL API: (\S+)/.exec(output);
      if (match && output.includes("ready")) resolve(match[1]!);
    });
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return { child, url, exited };
}

async function gql(url: string, query: string, token: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: unknown };
}

test("npm start serves the API, stops cleanly on Ctrl-C, and a second start reuses the data", async () => {
  const token = signToken(loadOrCreateDevKeys().privateKey, { ...devIdentity("restart@example.com"), iss: DEV_ISSUER });

  const first = await start();
  const created = await gql(first.url, `mutation { createProject(input: { project: { projectName: "kept", projectType: PODCAST } }) { project { rowId } } }`, token);
  expect(created.errors).toBeUndefined();
  first.child.kill("SIGINT");
  expect(await first.exited).toBe(0);

  const second = await start();
  const listed = await gql(second.url, `{ projects { nodes { projectName projectType } } }`, token);
  expect(listed.data.projects.nodes).toEqual([{ projectName: "kept", projectType: "PODCAST" }]);
  second.child.kill("SIGINT");
  expect(await second.exited).toBe(0);
}, 60_000);
