/**
 * /ready includes the job worker when it runs in the API's process (the
 * default): a real API process answers 200 while its worker lives, and 503
 * naming the worker once the worker's liveness session is killed on the
 * server (what a lost connection or a dead worker looks like from outside).
 * On a deployment of its own, so the worker is the only one there.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
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

test("/ready answers 200 with the in-process worker running, and 503 naming the worker once its liveness session is killed", async () => {
  const live = await until("the worker to be ready", async () => {
    const answer = await ready();
    return answer.status === 200 ? answer : undefined;
  });
  expect(live.body.checks.worker).toEqual({ ok: true });

  const admin = new pg.Client({ connectionString: testDeployment().adminUrl });
  await admin.connect();
  try {
    const killed = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'alwrity-worker-liveness'",
      [own().platform.name],
    );
    expect(killed.rowCount).toBe(1);
  } finally {
    await admin.end();
  }

  const dead = await until("/ready to notice", async () => {
    const answer = await ready();
    return answer.status === 503 ? answer : undefined;
  });
  expect(dead.body.status).toBe("not ready");
  expect(dead.body.checks.worker).toEqual({ ok: false, detail: "lost its liveness connection" });
  // Everything else still answers: only the worker made it not ready.
  expect(Object.entries(dead.body.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual(["worker"]);
  expect(api.output()).toContain("worker_liveness_lost");
  expect(api.alive()).toBe(true);
});
