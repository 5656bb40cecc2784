/**
 * /ready includes the job worker when it runs in the API's process (the
 * default): a real API process answers 200 while its worker lives; when the
 * worker's liveness session is killed on the server (what a lost connection
 * looks like from outside) the worker says so in its log, takes its lock back
 * on a new session and /ready is 200 again. (Restarts of the whole server:
 * restart-readiness.probe.ts.) On a deployment of its own, so the worker is
 * the only one there.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { connect } from "../support/connect.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";
import { testDeployment } from "../support/test-deployment.ts";

const own = ownDeployment();
let api: ApiProcess;

beforeAll(async () => {
  api = await startApiProcess(endpointsEnv(own()));
}, 120_000);
afterAll(() => api?.kill());

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

async function ready(): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${api.url.replace(/\/graphql$/, "")}/ready`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the API printed:\n${api.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("/ready answers 200 with the in-process worker running, and again after its liveness session is killed: the worker takes its lock back", async () => {
  const live = await until("the worker to be ready", async () => {
    const answer = await ready();
    return answer.status === 200 ? answer : undefined;
  });
  expect(live.body.checks.worker).toEqual({ ok: true });

  const killed = await connect(testDeployment().adminUrl, (admin) =>
    admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'alwrity-worker-liveness'", [own().platform.name]),
  );
  expect(killed.rowCount).toBe(1);

  await until("the worker to notice and take its lock back", async () => (/worker_liveness_regained/.test(api.output()) ? true : undefined));
  expect(api.output()).toContain("worker_liveness_lost");
  const back = await until("/ready to be 200 again", async () => {
    const answer = await ready();
    return answer.status === 200 ? answer : undefined;
  });
  expect(back.body.checks.worker).toEqual({ ok: true });
  // A new session holds the lock: the one killed is not the one that holds it now.
  const { rows } = await connect(testDeployment().adminUrl, (admin) =>
    admin.query<{ n: number }>(
      "select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and a.datname = $1 and a.application_name = 'alwrity-worker-liveness'",
      [own().platform.name],
    ),
  );
  expect(rows[0]!.n).toBe(1);
  expect(api.alive()).toBe(true);
});
