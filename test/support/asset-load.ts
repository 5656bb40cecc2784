/**
 * A bounded load of reads and writes on content assets through the API: each user
 * in turn creates an asset in their project and reads their latest ten, until
 * stopped, out of time or out of budget. Every request is timed, so a test can
 * compare latencies with and without a migration running and count failures.
 */
import { performance } from "node:perf_hooks";
import { gql, type ApiProcess } from "./api-process.ts";
import { giveUnlimitedPlan } from "./unlimited-plan.ts";

export interface Timed {
  /** performance.now() when the request was sent, and how long it took (ms). */
  readonly start: number;
  readonly ms: number;
  readonly kind: "write" | "read";
  readonly ok: boolean;
  readonly detail: string;
}

export interface LoadUser {
  readonly token: string;
  readonly projectId: string;
}

const CREATE = `mutation($projectId: UUID!, $title: String!) {
  createAsset(input: { asset: { projectId: $projectId, assetType: BLOG_POST, title: $title, content: "a few words of draft" } }) { asset { rowId } }
}`;
const READ = `query($id: UUID!) { project(rowId: $id) { assets(first: 10, orderBy: CREATED_AT_DESC) { nodes { rowId title } } } }`;
const CREATE_PROJECT = `mutation { createProject(input: { project: { projectName: "deploy load", projectType: BLOG } }) { project { rowId } } }`;

/** Signs `count` users in (retrying an honest 503/429, bounded), gives each an unlimited plan and a project. */
export async function prepareLoadUsers(api: Pick<ApiProcess, "url" | "token">, ownerUrls: { platform: string; userData: string }, count: number, run: string): Promise<LoadUser[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, u) => {
      const clerkId = `user_deploy_${run}_${u}`;
      const token = api.token(clerkId);
      for (let attempt = 1; ; attempt++) {
        const signIn = await gql(api.url, "{ currentUser { rowId } }", token);
        if (signIn.status === 200 && !signIn.body?.errors) break;
        if (attempt === 20) throw new Error(`${clerkId} could not sign in: HTTP ${signIn.status} ${JSON.stringify(signIn.body?.errors ?? null)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await giveUnlimitedPlan(ownerUrls, clerkId);
      const project = await gql(api.url, CREATE_PROJECT, token);
      if (!project.body?.data?.createProject) throw new Error(`${clerkId} could not create a project: ${JSON.stringify(project.body)}`);
      return { token, projectId: project.body.data.createProject.project.rowId as string };
    }),
  );
}

export interface AssetLoad {
  readonly timed: Timed[];
  /** Stops after the requests in flight. */
  stop(): Promise<void>;
  /** Resolves when every user stopped (time or budget spent, or stop()). */
  finished(): Promise<void>;
}

/** Runs until stop(), `maxMs` or `budgetPerUser` requests per user, whichever comes first. */
export function startAssetLoad(url: string, users: readonly LoadUser[], maxMs: number, budgetPerUser: number): AssetLoad {
  const timed: Timed[] = [];
  let stopping = false;
  const deadline = performance.now() + maxMs;
  const loops = users.map(async (user, u) => {
    for (let i = 0; i < budgetPerUser && !stopping && performance.now() < deadline; i++) {
      const write = i % 2 === 0;
      const start = performance.now();
      try {
        const answer = write
          ? await gql(url, CREATE, user.token, { projectId: user.projectId, title: `asset ${u}-${i}` })
          : await gql(url, READ, user.token, { id: user.projectId });
        const errors = answer.body?.errors ?? [];
        const ok = answer.status === 200 && errors.length === 0 && answer.body?.data != null;
        timed.push({ start, ms: performance.now() - start, kind: write ? "write" : "read", ok, detail: ok ? "" : `HTTP ${answer.status} ${JSON.stringify(errors)}` });
      } catch (error) {
        timed.push({ start, ms: performance.now() - start, kind: write ? "write" : "read", ok: false, detail: String((error as Error).cause ?? error) });
      }
    }
  });
  const done = Promise.all(loops).then(() => undefined);
  return {
    timed,
    finished: () => done,
    async stop() {
      stopping = true;
      await done;
    },
  };
}

/** The q-quantile (0..1) of the durations, nearest rank. */
export function quantile(durations: readonly number[], q: number): number {
  if (durations.length === 0) return NaN;
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
