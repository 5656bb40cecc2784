/**
 * The embedded server on a persistent data directory: a second server on the
 * same directory is refused with a message saying what to do, and the first
 * one's data survives a restart.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { startEmbeddedServer } from "../../src/bootstrap/embedded-server.ts";
import { connect } from "../support/connect.ts";

const parent = mkdtempSync(path.join(tmpdir(), "alwrity-embedded-"));
chmodSync(parent, 0o755); // the embedded server's OS user must be able to enter it
afterAll(() => rmSync(parent, { recursive: true, force: true }));
const options = { dataDir: path.join(parent, "data"), port: 0, superuserPassword: "test-only" };

const query = async (url: string, sql: string) => (await connect(url, (client) => client.query(sql))).rows;

test("a second server on a data directory in use is refused, and data survives a restart", async () => {
  const first = await startEmbeddedServer(options);
  try {
    await query(first.adminUrl, "create table kept (note text); insert into kept values ('still here')");
    await expect(startEmbeddedServer(options)).rejects.toThrow(/is in use by another running server \(pid \d+\).*stop that first/);
  } finally {
    await first.stop();
  }
  const again = await startEmbeddedServer(options);
  try {
    expect(await query(again.adminUrl, "select note from kept")).toEqual([{ note: "still here" }]);
  } finally {
    await again.stop();
  }
}, 60_000);
