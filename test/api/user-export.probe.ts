/**
 * GET /export on a real API process: a signed-in user downloads everything
 * about them in both databases, and nothing of anyone else; anonymous and
 * forged callers get 401; the document is streamed (chunked, no
 * content-length), audited, rate-limited, and a user with 100,000 assets is
 * exported while the API process's memory grows by far less than the document;
 * an export that breaks half-way is cut off, not ended as if complete.
 */
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { generateClerkKeyPair, signToken } from "../../src/api/auth/dev-keys.ts";
import { AUTHORIZED_PARTY, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { deploymentEnv } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { userFixtures, type UserFixtures } from "../support/user-fixtures.ts";

const run = randomUUID().slice(0, 8);
const EXPORTS_PER_HOUR = 3;
/**
 * The API process's V8 old-space limit, as a container's memory budget would set it. Without one,
 * V8 sizes its headroom from the live heap (PostGraphile's schema makes that large) and lets some
 * 100 MB of garbage pile up before a full collection, so peak RSS would show garbage, not what the
 * export holds. A buffered 59 MB document would not fit beside the server's own heap.
 */
const API_HEAP_MB = 96;
const dir = mkdtempSync(path.join(tmpdir(), "alwrity-api-export-"));
let databases: Databases;
let fixtures: UserFixtures;
let api: ApiProcess;
let exportUrl: string;

/** Where each table's rows appear in the document, and the column that names a row. */
const SECTIONS: Record<string, { section: [string, string]; key: string }> = {
  "platform.users": { section: ["platform", "account"], key: "id" },
  "platform.user_subscriptions": { section: ["platform", "subscriptions"], key: "id" },
  "platform.plan_changes": { section: ["platform", "plan_changes"], key: "id" },
  "platform.platform_usage_logs": { section: ["platform", "usage_logs"], key: "id" },
  "platform.usage_monthly_totals": { section: ["platform", "usage_monthly_totals"], key: "month" },
  "user_data.user_profiles": { section: ["user_data", "profile"], key: "user_id" },
  "user_data.user_entitlements": { section: ["user_data", "entitlements"], key: "user_id" },
  "user_data.user_projects": { section: ["user_data", "projects"], key: "id" },
  "user_data.user_personas": { section: ["user_data", "personas"], key: "id" },
  "user_data.user_content_assets": { section: ["user_data", "assets"], key: "id" },
  "user_data.user_asset_counts": { section: ["user_data", "asset_counts"], key: "user_id" },
};

beforeAll(async () => {
  const config = loadConfig(deploymentEnv());
  const deployment = await openDeployment(config, { provision: false });
  databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
  fixtures = await userFixtures(databases, run);
  api = await startApiProcess({ ...deploymentEnv(), NODE_OPTIONS: `--max-old-space-size=${API_HEAP_MB}`, WORKER_IN_PROCESS: "false", RATE_LIMIT_EXPORTS_PER_USER: String(EXPORTS_PER_HOUR) });
  exportUrl = new URL("/export", api.url).toString();
}, 120_000);

afterAll(async () => {
  await api?.kill();
  await fixtures?.cleanup();
  await databases?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A request to /export on a connection of its own, answered as a fetch Response. Not fetch's pool:
 * this file pauses for seconds between requests (parsing 59 MB), and a kept-alive connection that
 * the server closes for idleness just as it is reused fails the next request with ECONNRESET.
 */
function exportRequest(headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(exportUrl, { method, headers, agent: false }, (res) => {
      const answer = new Headers();
      for (const [key, value] of Object.entries(res.headers)) if (value !== undefined) answer.set(key, Array.isArray(value) ? value.join(", ") : value);
      resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode, headers: answer }));
    });
    req.once("error", reject);
    req.end();
  });
}

const exportAs = (name: string, method = "GET") => exportRequest({ authorization: `Bearer ${api.token(fixtures.clerkId(name))}` }, method);

async function firstError(response: Response): Promise<{ message: string; extensions: Record<string, unknown> }> {
  return ((await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] }).errors[0]!;
}

/** The tables of both databases that hold rows of one user (a user_id column, or the users table itself). */
async function perUserTables(): Promise<string[]> {
  const query = (schema: string) =>
    `select table_schema || '.' || table_name as t from information_schema.columns
      where table_schema = '${schema}' and column_name = 'user_id'
        and table_name in (select table_name from information_schema.tables where table_schema = '${schema}' and table_type = 'BASE TABLE')
     union select '${schema}.users' where '${schema}' = 'platform'`;
  const platform = await fixtures.platformOwner.query<{ t: string }>(query("platform"));
  const userData = await fixtures.userDataOwner.query<{ t: string }>(query("user_data"));
  return [...platform.rows, ...userData.rows].map((r) => r.t).sort();
}

test("a user's export holds every row of theirs in every table of both databases, and nothing of another user", async () => {
  const me = await fixtures.userWithData("exporter", 5);
  const other = await fixtures.userWithData("bystander", 4);
  // A table added later without a section in the export fails here.
  expect(await perUserTables()).toEqual(Object.keys(SECTIONS).sort());

  const response = await exportAs("exporter");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("content-disposition")).toContain("attachment");
  const text = await response.text();
  const doc = JSON.parse(text);
  expect(doc.user_id).toBe(me);
  for (const [table, { section, key }] of Object.entries(SECTIONS)) {
    const owner = table.startsWith("platform.") ? fixtures.platformOwner : fixtures.userDataOwner;
    const mine = table === "platform.users" ? "id" : "user_id";
    const expected = (await owner.query(`select ${key}::text as k from ${table} where ${mine} = $1 order by 1`, [me])).rows.map((r) => r.k);
    const theirs = (await owner.query(`select count(*)::int as n from ${table} where ${mine} = $1`, [other])).rows[0].n;
    expect(expected.length, table).toBeGreaterThan(0);
    expect(theirs, `${table} holds the other user's rows too`).toBeGreaterThan(0);
    const exported = (doc[section[0]][section[1]] as Record<string, unknown>[]).map((row) => String(row[key])).sort();
    expect(exported, table).toEqual(expected);
  }
  expect(text).not.toContain(other);
  expect(text).not.toContain("bystander");

  // The export is in the audit log, as asked for by the user.
  const events = await fixtures.platformOwner.query("select details from platform_audit.events where kind = 'user.data_exported' and user_id = $1", [me]);
  expect(events.rows).toEqual([{ details: { requested_by: "user" } }]);
}, 120_000);

test("anonymous and forged callers get 401, and only GET is served", async () => {
  const anonymous = await exportRequest();
  expect(anonymous.status).toBe(401);
  expect((await firstError(anonymous)).extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "authorization-missing" });

  const forged = signToken(generateClerkKeyPair().privateKey, { sub: fixtures.clerkId("exporter"), azp: AUTHORIZED_PARTY });
  const refused = await exportRequest({ authorization: `Bearer ${forged}` });
  expect(refused.status).toBe(401);
  expect((await firstError(refused)).extensions.code).toBe("UNAUTHENTICATED");

  const posted = await exportAs("exporter", "POST");
  expect(posted.status).toBe(405);
  expect(posted.headers.get("allow")).toBe("GET");
});

test(`a user gets ${EXPORTS_PER_HOUR} exports an hour, then 429 with Retry-After naming the setting`, async () => {
  await fixtures.userWithData("eager", 1);
  for (let i = 0; i < EXPORTS_PER_HOUR; i++) {
    const ok = await exportAs("eager");
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  }
  const refused = await exportAs("eager");
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await firstError(refused)).extensions).toMatchObject({ code: "RATE_LIMITED", limit: "RATE_LIMIT_EXPORTS_PER_USER" });
});

function memoryKb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]), hwm: Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) };
}

let big: Promise<string> | undefined;
/** The user with 100,000 assets, made once for the tests that need one. */
const bigUser = () => (big ??= fixtures.userWithData("big", 100_000));

/** Exports `name` to a file while sampling the API process's RSS; answers the sizes and the memory seen. */
async function measuredExport(name: string) {
  const pid = api.child.pid!;
  const before = memoryKb(pid);
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, memoryKb(pid).rss);
    } catch {
      // the process is gone: the test fails on the response
    }
  }, 10);
  const started = Date.now();
  const file = path.join(dir, `${name}.json`);
  try {
    const response = await exportAs(name);
    expect(response.status).toBe(200);
    // Streamed: no length known in advance, the body comes in chunks.
    expect(response.headers.get("content-length")).toBeNull();
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    await pipeline(Readable.fromWeb(response.body! as never), createWriteStream(file));
  } finally {
    clearInterval(sampler);
  }
  const after = memoryKb(pid);
  return { file, bytes: statSync(file).size, seconds: (Date.now() - started) / 1000, before, peakRss: Math.max(peakRss, after.rss), hwm: after.hwm };
}

test("a user with 100,000 assets is exported as a stream: the API process's peak memory does not follow the document's size", async () => {
  const bigId = await bigUser();
  await fixtures.userWithData("tenth", 10_000);
  // A tenth of the data first: what any export loads and the garbage collector's headroom are reached there,
  // so what the large one adds on top is what grows with the data.
  const small = await measuredExport("tenth");
  const large = await measuredExport("big");
  const growthKb = large.hwm - small.hwm;
  console.log(
    `API export: 10,000 assets ${small.bytes} bytes in ${small.seconds.toFixed(1)} s, 100,000 assets ${large.bytes} bytes in ${large.seconds.toFixed(1)} s; ` +
      `API process peak RSS (VmHWM) ${small.before.hwm} kB at start, ${small.hwm} kB after the small export, ${large.hwm} kB after the large one: ` +
      `the large export added ${growthKb} kB`,
  );
  expect(large.bytes).toBeGreaterThan(30_000_000);
  expect(growthKb * 1024).toBeLessThan(large.bytes / 2);
  const doc = JSON.parse(readFileSync(large.file, "utf8"));
  expect(doc.user_id).toBe(bigId);
  expect(doc.user_data.assets).toHaveLength(100_000);
}, 300_000);

test("an export that breaks half-way is cut off, never ended as if it were complete", async () => {
  await bigUser(); // large enough that the export is still running when its connection is cut
  const response = await exportAs("big");
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  let received = (await reader.read()).value?.length ?? 0;
  // Not reading on: the server waits for the socket to drain, with the export's cursor open.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const d = testDeployment();
  const admin = new pg.Client({ connectionString: d.adminUrlFor("userData") });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      "select pg_terminate_backend(pid) as done from pg_stat_activity where datname = current_database() and query like '%export_rows%' and pid <> pg_backend_pid()",
    );
    expect(rows.map((r) => r.done)).toContain(true);
  } finally {
    await admin.end();
  }
  const outcome = await (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return "ended";
      received += value.length;
    }
  })().catch((error: Error) => `cut off: ${error.message}`);
  expect(outcome).toMatch(/^cut off/);
  expect(received).toBeLessThan(50_000_000);
  expect(api.alive()).toBe(true);
}, 120_000);
