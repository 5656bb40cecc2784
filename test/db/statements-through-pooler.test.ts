/**
 * Named prepared statements through a real PgBouncer 1.18 in transaction mode
 * (src/db/server-statements.ts). PgBouncer has one server connection here,
 * shared by every client connection of two API databases objects (two API
 * processes, in effect): a statement is parsed there once per process and then
 * executed by name from any of its client connections, with no "already exists"
 * (42P05) or "does not exist" (26000). Someone else's DEALLOCATE ALL costs one
 * failed transaction, after which the server connection is started afresh; one
 * holding too many statements is started afresh before it is used.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { transactionSettings } from "../../src/db/asking.ts";
import { MAX_SERVER_STATEMENTS } from "../../src/db/server-statements.ts";
import type { Endpoints } from "../../src/db/endpoints.ts";
import { sharedEndpoints } from "../support/databases.ts";
import { startPgbouncer, type Pgbouncer } from "../support/pgbouncer.ts";

let bouncer: Pgbouncer;
const processes: Databases[] = [];

/** PostGraphile's naming (@dataplan/pg): the first 63 hex digits of the text's SHA-256. */
const named = (text: string) => ({ name: createHash("sha256").update(text).digest("hex").slice(0, 63), text });
const STATEMENTS = [named("select $1::int + 1 as v"), named("select $1::int * 2 as v")];

beforeAll(async () => {
  const direct = sharedEndpoints();
  // One server connection per database and login: every transaction reaches the same one.
  bouncer = await startPgbouncer([direct.platform.apiUrl, direct.userData.apiUrl], 1);
  const through: Endpoints = {
    ...direct,
    platform: { ...direct.platform, apiUrl: bouncer.through(direct.platform.apiUrl) },
    userData: { ...direct.userData, apiUrl: bouncer.through(direct.userData.apiUrl) },
  };
  for (let i = 0; i < 2; i++) {
    processes.push(createDatabases(through, { pool: { size: 4, maxOverflow: 0, timeoutMs: 20_000, recycleSeconds: 3600 }, echo: false, poolerMode: "transaction" }));
  }
}, 60_000);

afterAll(async () => {
  for (const databases of processes) await databases.close();
  await bouncer?.stop();
});

const login = () => transactionSettings({ kind: "login" }, sharedEndpoints().topology);

/** One transaction of `databases` running `count` named statements in turn; resolves to their answers. */
function transaction(databases: Databases, round: number): Promise<number[]> {
  return databases.platform.withSettingsClient(login(), async (client) => {
    const answers: number[] = [];
    for (const statement of STATEMENTS) answers.push((await client.query<{ v: number }>({ ...statement, values: [round] })).rows[0]!.v);
    return answers;
  });
}

/** The server connection's prepared statements, and how often each ran there. */
const serverStatements = () =>
  processes[0]!.platform.withSettingsClient(login(), async (client) => {
    const { rows } = await client.query<{ name: string; runs: number }>("select name, (generic_plans + custom_plans)::int as runs from pg_prepared_statements");
    return rows;
  });

/** How often `statement` ran on the server connection, per process (each prepares it under its own prefix). */
const runsOf = async (statement: { name: string }) =>
  (await serverStatements())
    .filter((s) => s.name.slice(8) === statement.name.slice(8))
    .map((s) => s.runs)
    .sort();

test("statements are parsed once on the server connection and run by name from every client connection of both processes", async () => {
  // 8 at a time over 2 × 4 client connections, all through the one server connection.
  const rounds = Array.from({ length: 40 }, (_, i) => i);
  const answers = await Promise.all(rounds.map((i) => transaction(processes[i % 2]!, i)));
  expect(answers).toEqual(rounds.map((i) => [i + 1, i * 2]));
  for (const statement of STATEMENTS) expect(await runsOf(statement)).toEqual([20, 20]);
}, 60_000);

test("someone else's DEALLOCATE ALL on the server connection costs one failed transaction, then it is started afresh", async () => {
  await Promise.all([transaction(processes[0]!, 1), transaction(processes[1]!, 1)]);
  await processes[1]!.platform.withSettingsClient(login(), (client) => client.query("deallocate all"));
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    outcomes.push(await transaction(processes[i % 2]!, i).then((answers) => answers.join(","), (error: { code?: string; cause?: { code?: string } }) => `failed ${error.code ?? error.cause?.code}`));
  }
  expect(outcomes.slice(0, 2).filter((o) => o.startsWith("failed"))).toEqual(["failed 26000"]);
  expect(outcomes.slice(2)).toEqual([2, 3, 4, 5, 6, 7].map((i) => `${i + 1},${i * 2}`));
  // Started afresh: only what ran since is there.
  for (const statement of STATEMENTS) expect((await runsOf(statement)).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(8);
}, 60_000);

test(`a server connection holding more than ${MAX_SERVER_STATEMENTS} statements of a process is started afresh before that process uses it again`, async () => {
  await processes[0]!.platform.withSettingsClient(login(), async (client) => {
    for (let i = 0; i <= MAX_SERVER_STATEMENTS; i++) await client.query({ ...named(`select ${i} as v`), values: [] });
  });
  expect((await serverStatements()).length).toBeLessThanOrEqual(STATEMENTS.length * 2);
  expect(await transaction(processes[1]!, 3)).toEqual([4, 6]);
  expect(await transaction(processes[0]!, 3)).toEqual([4, 6]);
}, 60_000);
