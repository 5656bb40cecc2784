/**
 * Failover with real processes: the local high-availability cluster (etcd, two
 * Patroni members with PostgreSQL 15, HAProxy; src/ops/ha-cluster.ts), the
 * project provisioned and migrated through HAProxy, and the API as a real
 * process connected through HAProxy. Eight users create projects; the
 * primary's postmaster gets SIGKILL mid-load. Afterwards every acknowledged
 * write is on the new primary exactly once, the API process (with its job
 * worker inside, the default) is alive, writes succeed again within 15 s of the
 * kill, /ready is 200 again with the worker running and no user sees another's
 * rows. Then the old primary rejoins as the synchronous standby
 * (pg_rewind) and a second failover, back to it, works the same way.
 *
 * Minutes, not seconds: its own vitest config (`npm run test:ha`), a step of
 * its own in .ci/run, not part of `npm test`.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openMigratedDeployment } from "../../src/bootstrap/migrations.ts";
import { pidAlive } from "../../src/bootstrap/embedded-server.ts";
import { patroniStatus, startHaCluster, type HaCluster, type HaMember } from "../../src/ops/ha-cluster.ts";
import { gql, startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { giveUnlimitedPlan } from "../support/unlimited-plan.ts";

const USERS = 8;
/** Each user's writes in one scenario at most (a bound, besides the time bound). */
const INTENTS_PER_USER = 400;
const RECOVERY_BOUND_MS = 15_000;

const CREATE = `mutation($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { rowId projectName } } }`;
const LIST = `{ projects(first: 1000) { nodes { projectName } } }`;

let dir: string;
let cluster: HaCluster;
let api: ApiProcess;
let ownerUrls: { platform: string; userData: string };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "alwrity-ha-test-"));
  cluster = await startHaCluster(dir);
  // Roles, both databases and the migrations, through HAProxy, as for any server.
  const deployment = await openMigratedDeployment(loadConfig({ ENVIRONMENT: "test", DATABASE_ADMIN_URL: cluster.adminUrl }));
  await deployment.close();
  ownerUrls = { platform: deployment.platform.migrationUrl!, userData: deployment.userData.migrationUrl! };
  for (const url of [deployment.platform.apiUrl, deployment.userData.apiUrl]) expect(new URL(url).port).toBe(String(cluster.haproxyPort));
  api = await startApiProcess({
    PLATFORM_DATABASE_URL: deployment.platform.apiUrl,
    USER_DATA_DATABASE_URL: deployment.userData.apiUrl,
    PLATFORM_MIGRATION_DATABASE_URL: deployment.platform.migrationUrl!,
    USER_DATA_MIGRATION_DATABASE_URL: deployment.userData.migrationUrl!,
    // Short enough that a request waiting for a connection during the failover answers 503 and is retried.
    DB_POOL_TIMEOUT: "3",
    API_RETRY_AFTER: "1",
    // A user's whole list in one page, for the check that it holds every acknowledged write of theirs.
    API_MAX_PAGE_SIZE: "1000",
    // The job worker runs in the API process (the default): its liveness connection
    // reconnects to the new primary and takes its lock back (src/worker/liveness.ts),
    // so /ready, which includes the worker, is 200 again without a restart.
  });
}, 300_000);

afterAll(async () => {
  await api?.kill();
  if (!cluster) return;
  const started = [...Object.values(cluster.pids), ...cluster.members.map((m) => cluster.postmasterPid(m)).filter((pid) => pid !== undefined)];
  await cluster.stop();
  expect(existsSync(dir), "the cluster's folder is deleted").toBe(false);
  expect(started.filter(pidAlive), "processes the cluster started still running").toEqual([]);
}, 120_000);

interface Attempt {
  user: number;
  intent: number;
  name: string;
  startedAt: number;
  at: number;
  status: number;
  /** The row id, when acknowledged (200 without errors). */
  rowId?: string;
  codes: string[];
}

/**
 * Eight users, each writing intent after intent; an intent is retried after a
 * 503 (or no answer) with a new name per attempt (`…-i<intent>-a<attempt>`):
 * before retrying, the client lists its projects and stops when an earlier
 * attempt was stored although its answer was lost (a commit the standby had
 * when the primary died); a second row of one intent is then a duplicate.
 * Every list records any name that is not the user's.
 */
function startLoad(run: string) {
  const attempts: Attempt[] = [];
  const foreign: string[] = [];
  let listsChecked = 0;
  let stopping = false;
  const prefix = (u: number) => `ha-${run}-u${u}-`;
  const token = (u: number) => api.token(`user_ha_${run}_${u}`);
  const prepared = Promise.all(
    Array.from({ length: USERS }, async (_, u) => {
      await gql(api.url, LIST, token(u)); // signs the user in
      await giveUnlimitedPlan(ownerUrls, `user_ha_${run}_${u}`);
    }),
  );
  /** The user's project names (recording any that is not theirs), or undefined when the API did not answer with them. */
  const listNames = async (u: number): Promise<string[] | undefined> => {
    const listed = await gql(api.url, LIST, token(u)).catch(() => undefined);
    if (listed?.status !== 200 || listed.body?.errors?.length || !listed.body?.data?.projects) return undefined;
    const names = (listed.body.data.projects.nodes as Array<{ projectName: string }>).map((n) => n.projectName);
    listsChecked++;
    foreign.push(...names.filter((n) => !n.startsWith(prefix(u))));
    return names;
  };
  const loops = Array.from({ length: USERS }, async (_, u) => {
    await prepared;
    for (let intent = 0; intent < INTENTS_PER_USER && !stopping; intent++) {
      for (let attempt = 0; !stopping; attempt++) {
        const name = `${prefix(u)}i${intent}-a${attempt}`;
        const startedAt = Date.now();
        let record: Attempt;
        try {
          const answer = await gql(api.url, CREATE, token(u), { name });
          const errors = answer.body?.errors ?? [];
          record = { user: u, intent, name, startedAt, at: Date.now(), status: answer.status, codes: errors.map((e) => String(e.extensions?.code ?? e.message)) };
          if (answer.status === 200 && errors.length === 0) record.rowId = answer.body!.data.createProject.project.rowId;
        } catch {
          record = { user: u, intent, name, startedAt, at: Date.now(), status: 0, codes: ["NO_RESPONSE"] };
        }
        attempts.push(record);
        if (record.rowId) break;
        // Anything but a 503 (or no answer while the API is reached through a dying connection) is a bug, not a retry.
        if (record.status !== 503 && record.status !== 0) throw new Error(`user ${u} got ${record.status} ${record.codes.join(",")} for ${name}`);
        // Before retrying, the client looks for its earlier attempts by name (asking until the API answers,
        // at most 30 s): a write whose answer was lost may be stored all the same, and then the intent is done.
        let names: string[] | undefined;
        for (const deadline = Date.now() + 30_000; !names && Date.now() < deadline && !stopping; ) {
          await sleep(100);
          names = await listNames(u);
        }
        if (names?.some((n) => n.startsWith(`${prefix(u)}i${intent}-a`))) break;
      }
      await listNames(u);
    }
  });
  const done = Promise.all(loops);
  return {
    attempts,
    foreign,
    prefix,
    token,
    listsChecked: () => listsChecked,
    ready: () => prepared,
    async stop() {
      stopping = true;
      await done;
    },
  };
}

async function ownerRows(sql: string, values: unknown[]): Promise<any[]> {
  const client = new pg.Client({ connectionString: ownerUrls.userData, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await sleep(200);
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

/** /ready's status, and whether its worker check (the in-process job worker) is among the checks and passes. */
const readyStatus = () =>
  fetch(new URL("/ready", api.url), { signal: AbortSignal.timeout(5_000) })
    .then(async (r) => ({ status: r.status, worker: ((await r.json()) as { checks?: { worker?: { ok: boolean } } }).checks?.worker?.ok === true }))
    .catch(() => ({ status: 0, worker: false }));

/** One failover under load; returns what was measured. */
async function failoverUnderLoad(label: string) {
  const before = await waitUntil("a primary", () => cluster.primary(), 30_000);
  const load = startLoad(`${label}${Date.now().toString(36)}`);
  let killedAt = 0;
  try {
    await load.ready();
    await waitUntil("acknowledged writes before the kill", async () => load.attempts.filter((a) => a.rowId).length >= 40, 30_000);
    const pid = cluster.postmasterPid(before);
    expect(pid, `${before.name}'s postmaster is running`).toBeDefined();
    killedAt = Date.now();
    process.kill(pid!, "SIGKILL");
    // Until a write started after the kill is acknowledged, then two more seconds of load.
    const firstAfter = await waitUntil("a write acknowledged after the kill", async () => load.attempts.find((a) => a.rowId && a.startedAt > killedAt), 60_000);
    await sleep(Math.max(0, firstAfter.at + 2_000 - Date.now()));
  } finally {
    await load.stop();
  }
  const after = await waitUntil("a new primary", async () => {
    const now = await cluster.primary();
    return now && now.name !== before.name ? now : undefined;
  }, 30_000);
  const readyAt = await waitUntil("/ready answering 200 with the worker running", async () => {
    const ready = await readyStatus();
    return ready.status === 200 && ready.worker ? Date.now() : undefined;
  }, 60_000).catch(async (error: Error) => {
    const body = await fetch(new URL("/ready", api.url)).then((r) => r.text()).catch((e: Error) => e.message);
    throw new Error(`${error.message}: ${body}\n${api.output().slice(-3000)}`);
  });

  const acknowledged = load.attempts.filter((a) => a.rowId);
  const firstAfter = acknowledged.filter((a) => a.startedAt > killedAt).sort((a, b) => a.at - b.at)[0]!;
  const rows: Array<{ id: string; project_name: string }> = await ownerRows("select id, project_name from user_data.user_projects where project_name like $1", [`ha-%`]);
  const mine = rows.filter((r) => load.attempts.some((a) => a.name === r.project_name));
  const present = new Map(mine.map((r) => [r.id, r.project_name]));
  const lost = acknowledged.filter((a) => present.get(a.rowId!) !== a.name);
  const namesTwice = mine.filter((r, i) => mine.findIndex((s) => s.project_name === r.project_name) !== i);
  // A write whose answer was lost: stored although its attempt got a 503 (the primary died after the
  // standby had the commit but before the client heard back); the client found it by name and did not
  // retry. Only an attempt in flight when the primary died may do that; any other is a bug.
  const attemptOf = new Map(load.attempts.map((a) => [a.name, a]));
  const answerLost = mine.map((r) => attemptOf.get(r.project_name)!).filter((a) => !a.rowId);
  const inFlightAtKill = (a: Attempt) => a.startedAt <= killedAt + 1_000 && a.at >= killedAt;
  const rowsPerIntent = new Map<string, number>();
  for (const r of mine) {
    const intent = r.project_name.replace(/-a\d+$/, "");
    rowsPerIntent.set(intent, (rowsPerIntent.get(intent) ?? 0) + 1);
  }
  const intentsTwice = [...rowsPerIntent].filter(([, n]) => n > 1).map(([intent]) => intent);
  const failed = load.attempts.filter((a) => !a.rowId);
  const measured = {
    label,
    from: before.name,
    to: after.name,
    rtoMs: firstAfter.at - killedAt,
    readyMs: readyAt - killedAt,
    acknowledged: acknowledged.length,
    failedAttempts: failed.length,
    failureCodes: [...new Set(failed.map((a) => `${a.status} ${a.codes.join(",")}`))],
    lost: lost.length,
    storedTwice: namesTwice.length,
    intentsStoredTwice: intentsTwice.length,
    answerLostButStored: answerLost.length,
  };
  console.log(`failover ${JSON.stringify(measured)}`);

  expect(api.alive(), `the API process exited:\n${api.output().slice(-2000)}`).toBe(true);
  expect(lost.map((a) => a.name), "acknowledged writes missing on the new primary").toEqual([]);
  expect(namesTwice, "a write stored twice").toEqual([]);
  expect(intentsTwice, "an intent stored twice (retried although an earlier attempt was stored)").toEqual([]);
  expect(answerLost.filter((a) => !inFlightAtKill(a)).map((a) => a.name), "writes answered 503 yet stored, outside the failover").toEqual([]);
  expect(measured.rtoMs, "writes succeed again within 15 s of the kill").toBeLessThan(RECOVERY_BOUND_MS);
  expect(load.listsChecked(), "lists read during the load").toBeGreaterThan(0);
  expect(load.foreign, "a user saw another user's project").toEqual([]);
  // Each user, through the API after the failover, sees exactly their own acknowledged projects (and maybe unacknowledged ones of theirs).
  for (let u = 0; u < USERS; u++) {
    const listed = await gql(api.url, LIST, load.token(u));
    expect(listed.status).toBe(200);
    const names: string[] = listed.body!.data.projects.nodes.map((n: { projectName: string }) => n.projectName);
    expect(names.filter((n) => !n.startsWith(load.prefix(u)))).toEqual([]);
    const ackedNames = acknowledged.filter((a) => a.user === u).map((a) => a.name);
    expect(ackedNames.filter((n) => !names.includes(n))).toEqual([]);
  }
  return { before, after, measured };
}

/** Waits until `member` is back as the synchronous standby of the current primary (after pg_rewind or a clone). */
async function rejoinedAsSyncStandby(member: HaMember): Promise<void> {
  await waitUntil(`${member.name} back as the synchronous standby`, async () => (await patroniStatus(member, "/sync")) === 200, 120_000);
}

test("SIGKILL of the primary's postmaster under load: the synchronous standby takes over, nothing acknowledged is lost, and the old primary rejoins for a second failover back", async () => {
  const first = await failoverUnderLoad("first");
  await rejoinedAsSyncStandby(first.before);
  const second = await failoverUnderLoad("second");
  expect(second.after.name, "the second failover goes back to the first primary").toBe(first.before.name);
  await rejoinedAsSyncStandby(second.before);
}, 600_000);
