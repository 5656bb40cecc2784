/**
 * Erasure across both databases, by the real job worker in a child process:
 * killed with SIGKILL in the middle of erasing a user with tens of thousands
 * of rows, restarted, it finishes the job; nothing of that user is left,
 * nobody else's row is touched, and their usage stays, unlinked from a person.
 * Runs on a server of its own, so no other test's worker takes the job.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig, PROJECT_ROOT } from "../../src/config.ts";
import { openDeployment } from "../../src/bootstrap/deployment.ts";
import { createDatabases, type Databases } from "../../src/db/databases.ts";
import { findOrCreateUser } from "../../src/services/accounts.ts";
import { requestAccountDeletion } from "../../src/services/erasure.ts";
import { startOwnServer, type OwnServer } from "../support/own-server.ts";
import { waitFor } from "../support/wait-for.ts";

let own: OwnServer;
let databases: Databases;
let platformOwner: pg.Client;
let userDataOwner: pg.Client;

beforeAll(async () => {
  own = await startOwnServer();
  const config = loadConfig({ ENVIRONMENT: "test", ...own.env });
  const deployment = await openDeployment(config, { provision: false });
  databases = createDatabases(deployment, config, { onClose: () => deployment.close() });
  platformOwner = new pg.Client({ connectionString: own.ownerUrls.platform });
  userDataOwner = new pg.Client({ connectionString: own.ownerUrls.userData });
  await platformOwner.connect();
  await userDataOwner.connect();
}, 180_000);

afterAll(async () => {
  await platformOwner?.end();
  await userDataOwner?.end();
  await databases?.close();
  await own?.destroy();
});

function startWorkerProcess(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "worker"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ENVIRONMENT: "test", ...own.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.once("exit", resolve)) };
}


async function register(clerkId: string): Promise<string> {
  return (await databases.platform.withPlatformAdmin((admin) => findOrCreateUser(admin, { clerkId, email: `${clerkId}@example.com`, displayName: clerkId }))).id;
}

/** Gives a user a profile, projects, personas and `assets` assets (as the owner, in one statement each). */
async function fill(userId: string, assets: number) {
  await userDataOwner.query(
    `with p as (insert into user_data.user_profiles (user_id, business_name) values ($1, 'b') returning user_id),
          j as (insert into user_data.user_projects (user_id, project_name, project_type)
                select $1, 'project ' || g, (enum_range(null::user_data.project_type))[1] from generate_series(1, 50) g returning id),
          s as (insert into user_data.user_personas (user_id, persona_name) select $1, 'persona ' || g from generate_series(1, 20) g returning id)
     insert into user_data.user_content_assets (user_id, project_id, asset_type, title, content)
     select $1, (select id from j order by id limit 1 offset (g % 50)), (enum_range(null::user_data.asset_type))[1], 'asset ' || g, 'text'
       from generate_series(1, $2::int) g`,
    [userId, assets],
  );
  await platformOwner.query(`insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd) values ($1, 'blog_writer', 100, 0.25)`, [userId]);
  // Answers stored for the user's retries (docs/retries.md) hold their content too.
  await userDataOwner.query(
    `insert into idempotency.idempotency_keys (user_id, idempotency_key, request_hash, status_code, response_body, expires_at)
     select $1, 'key ' || g, repeat('a', 64), 200, '{}', now() + interval '1 day' from generate_series(1, 5) g`,
    [userId],
  );
}

function audit(): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "alwrity.ts"), "db", "audit", "--json"], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ENVIRONMENT: "test", ...own.env },
    });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => ((output += c.toString()), (stdout += c.toString())));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output, stdout }));
  });
}

async function rowsOf(userId: string): Promise<number> {
  const { rows } = await userDataOwner.query<{ n: string }>(
    `select (select count(*) from user_data.user_content_assets where user_id = $1) + (select count(*) from user_data.user_projects where user_id = $1)
          + (select count(*) from user_data.user_personas where user_id = $1) + (select count(*) from user_data.user_profiles where user_id = $1)
          + (select count(*) from idempotency.idempotency_keys where user_id = $1) as n`,
    [userId],
  );
  return Number(rows[0]!.n);
}

async function deletionState(userId: string) {
  const { rows } = await platformOwner.query<{ state: string; rows_erased: string }>("select state, rows_erased from platform_backend.account_deletions where user_id = $1", [userId]);
  return rows[0];
}

test("a worker killed with SIGKILL mid-erasure is restarted and finishes it; no other user's row is touched", async () => {
  const victim = await register("user_victim");
  const bystander = await register("user_bystander");
  await fill(victim, 30_000);
  await fill(bystander, 500);
  const bystanderBefore = await rowsOf(bystander);
  const victimBefore = await rowsOf(victim);
  expect(victimBefore).toBeGreaterThanOrEqual(30_000);

  // Requested twice: still one job.
  await databases.platform.withPlatformAdmin((admin) => requestAccountDeletion(admin, victim, "operator"));
  await databases.platform.withPlatformAdmin((admin) => requestAccountDeletion(admin, victim, "user"));
  const jobs = await platformOwner.query("select id from graphile_worker._private_jobs where key = $1", [`erase_user:${victim}`]);
  expect(jobs.rowCount).toBe(1);

  const first = startWorkerProcess();
  // Kill it once some batches have committed and many rows remain.
  await waitFor("the erasure to be under way", async () => {
    const d = await deletionState(victim);
    return d && Number(d.rows_erased) > 0 ? true : undefined;
  }, 90_000, 25).catch((error: Error) => {
    throw new Error(`${error.message}; the worker printed:\n${first.output()}`);
  });
  first.child.kill("SIGKILL");
  expect(await first.exited).toBe(null);
  const left = await rowsOf(victim);
  expect(left, "the worker was killed after the erasure had finished; the test proves nothing").toBeGreaterThan(0);
  expect(left).toBeLessThan(victimBefore);
  expect((await deletionState(victim))!.state).toBe("in_progress");

  const second = startWorkerProcess();
  try {
    await waitFor("the erasure to complete", async () => ((await deletionState(victim))?.state === "completed" ? true : undefined), 120_000, 200);
  } finally {
    second.child.kill("SIGTERM");
    await second.exited;
  }
  expect(second.output()).toContain("worker_released_dead_workers");
  expect(await rowsOf(victim)).toBe(0);
  expect(await rowsOf(bystander)).toBe(bystanderBefore);

  const { rows: users } = await platformOwner.query("select clerk_id, email, display_name from platform.users where id = $1", [victim]);
  expect(users[0]).toEqual({ clerk_id: `erased_${victim.replaceAll("-", "")}`, email: null, display_name: null });
  const usage = await platformOwner.query("select count(*)::int as n from platform.platform_usage_logs where user_id = $1", [victim]);
  expect(usage.rows[0].n).toBe(1); // kept for accounting, linked to nobody
  const live = await platformOwner.query("select count(*)::int as n from platform.user_subscriptions where user_id = $1 and status <> 'canceled'", [victim]);
  expect(live.rows[0].n).toBe(0);
  const other = await platformOwner.query("select clerk_id from platform.users where id = $1", [bystander]);
  expect(other.rows[0].clerk_id).toBe("user_bystander");

  const clean = await audit();
  expect(clean.code, clean.output).toBe(0);
  expect(JSON.parse(clean.stdout)).toEqual({ orphanedUserIds: [], usersWithoutProfile: [] });

  // Requested again after completion: nothing to do, no erasure job. (Other work the erasure
  // caused, such as the entitlements sync its canceled subscription queues, may still wait.)
  await databases.platform.withPlatformAdmin((admin) => requestAccountDeletion(admin, victim, "operator"));
  const after = await platformOwner.query("select count(*)::int as n from graphile_worker._private_jobs where key = $1", [`erase_user:${victim}`]);
  expect(after.rows[0].n).toBe(0);
}, 300_000);

test("alwrity db audit names user data without a live platform user, and a platform user without a profile; exit 1", async () => {
  const orphan = "00000000-0000-4000-8000-0000000000aa";
  const bare = await register("user_without_profile");
  await userDataOwner.query("insert into user_data.user_profiles (user_id) values ($1)", [orphan]);
  try {
    const result = await audit();
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("the audit found 2 problem(s)");
    const findings = JSON.parse(result.stdout) as { orphanedUserIds: string[]; usersWithoutProfile: string[] };
    expect(findings.orphanedUserIds).toContain(orphan);
    expect(findings.usersWithoutProfile).toEqual([bare]);
  } finally {
    await userDataOwner.query("delete from user_data.user_profiles where user_id = $1", [orphan]);
  }
}, 120_000);
