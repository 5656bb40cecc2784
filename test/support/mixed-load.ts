/**
 * A bounded mixed load on the API: each user in turn creates a project (with a
 * name unique to the run) and lists their projects, until stopped or until
 * its request budget is spent. Every answer is recorded, so a test can check
 * which creates were acknowledged, what failures looked like, and when
 * requests succeeded again.
 */
import { randomUUID } from "node:crypto";
import { gql, type ApiProcess, type GqlAnswer } from "./api-process.ts";

export interface Outcome {
  at: number;
  kind: "create" | "list";
  ok: boolean;
  status: number;
  /** Error codes from the GraphQL errors' extensions (or the message when there is none). */
  codes: string[];
  messages: string[];
  retryAfter: string | null;
  /** For an acknowledged create: the project's name. */
  created?: string;
  /** For a list: names of projects that did not start with this user's prefix. */
  foreign?: string[];
}

export interface MixedLoad {
  readonly outcomes: Outcome[];
  /** Names of acknowledged creates. */
  acknowledged(): string[];
  /** Stops after the requests in flight; resolves when every user has stopped. */
  stop(): Promise<void>;
  /** Resolves when every user is signed in and prepared (prepareUser), just before the load starts. */
  ready(): Promise<void>;
  /** Resolves when every user has spent their request budget. */
  finished(): Promise<void>;
}

const CREATE = `mutation($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { projectName } } }`;
const LIST = `{ projects(first: 50, orderBy: CREATED_AT_DESC) { nodes { projectName } } }`;

function outcome(kind: Outcome["kind"], answer: GqlAnswer): Outcome {
  const errors = answer.body?.errors ?? [];
  return {
    at: Date.now(),
    kind,
    ok: answer.status === 200 && errors.length === 0 && answer.body?.data != null,
    status: answer.status,
    codes: errors.map((e) => String(e.extensions?.code ?? e.message)),
    messages: errors.map((e) => e.message),
    retryAfter: answer.headers.get("retry-after"),
  };
}

export interface MixedLoadOptions {
  /** Runs once per user after their first request registered them (e.g. a plan that allows every create). */
  readonly prepareUser?: (clerkId: string) => Promise<void>;
}

export function startMixedLoad(api: Pick<ApiProcess, "url" | "token">, users: number, budgetPerUser: number, options: MixedLoadOptions = {}): MixedLoad {
  const run = randomUUID().slice(0, 8);
  const outcomes: Outcome[] = [];
  let stopping = false;
  // Every user is prepared before any load starts, so a test can disrupt the database once the load runs.
  const prepared = Promise.all(
    Array.from({ length: users }, async (_, u) => {
      if (!options.prepareUser) return;
      // Signs the user in; on a busy machine the first try may honestly answer 503 or 429, so it is retried (bounded).
      for (let attempt = 1; ; attempt++) {
        const signIn = await gql(api.url, LIST, api.token(`user_load_${run}_${u}`));
        if (signIn.status === 200 && !signIn.body?.errors) break;
        if (attempt === 20) throw new Error(`user_load_${run}_${u} could not sign in: HTTP ${signIn.status} ${JSON.stringify(signIn.body?.errors ?? null)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await options.prepareUser(`user_load_${run}_${u}`);
    }),
  );
  const loops = Array.from({ length: users }, async (_, u) => {
    await prepared;
    const prefix = `load-${run}-u${u}-`;
    const token = api.token(`user_load_${run}_${u}`);
    for (let i = 0; i < budgetPerUser && !stopping; i++) {
      const name = `${prefix}${i}`;
      try {
        const created = await gql(api.url, CREATE, token, { name });
        const o = outcome("create", created);
        if (o.ok) o.created = created.body!.data.createProject.project.projectName;
        outcomes.push(o);
        const listed = await gql(api.url, LIST, token);
        const l = outcome("list", listed);
        if (l.ok) l.foreign = (listed.body!.data.projects.nodes as Array<{ projectName: string }>).map((n) => n.projectName).filter((n) => !n.startsWith(prefix));
        outcomes.push(l);
      } catch (error) {
        // The connection itself failed (the API is down or refused): recorded, then a short pause.
        outcomes.push({ at: Date.now(), kind: "create", ok: false, status: 0, codes: ["NO_RESPONSE"], messages: [String((error as Error).cause ?? error)], retryAfter: null });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  const done = Promise.all(loops);
  return {
    outcomes,
    acknowledged: () => outcomes.filter((o) => o.created).map((o) => o.created!),
    ready: () => prepared.then(() => undefined),
    finished: () => done.then(() => undefined),
    async stop() {
      stopping = true;
      await done;
    },
  };
}
