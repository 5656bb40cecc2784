/**
 * The API as a real process (`node src/cli/start.ts`, what `npm start` runs),
 * for tests that must watch it survive, drain or stop: a crash in a child
 * shows as its exit, not as a broken test worker. Signed in with a Clerk key
 * pair made for the test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/config.ts";
import { generateClerkKeyPair, signToken } from "../../src/api/auth/dev-keys.ts";

export const AUTHORIZED_PARTY = "http://localhost:3000";

export interface ApiProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  readonly exited: Promise<number | null>;
  token(sub: string): string;
  alive(): boolean;
  /** SIGKILL if still running; waits for the exit. */
  kill(): Promise<void>;
}

/** `keys`: the Clerk key pair whose public half the API trusts (made for the call when absent). */
export async function startApiProcess(env: Record<string, string>, keys: { publicKey: string; privateKey: string } = generateClerkKeyPair()): Promise<ApiProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "src", "cli", "start.ts")], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENVIRONMENT: "test",
      PORT: "0",
      CLERK_JWT_KEY: keys.publicKey,
      CLERK_AUTHORIZED_PARTIES: AUTHORIZED_PARTY,
      // Load tests sign in many users from 127.0.0.1; the registration limit has its own tests.
      RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: "100000",
      RATE_LIMIT_PER_ADDRESS: "1000000",
      RATE_LIMIT_PER_USER: "1000000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API did not start within 60 s:\n${output}`)), 60_000);
    const check = () => {
      const match = /GraphQL API: (\S+)/.exec(output);
      if (match && output.includes("ready")) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the API exited with ${code} before it was ready:\n${output}`));
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    url,
    output: () => output,
    exited,
    token: (sub) => signToken(keys.privateKey, { sub, azp: AUTHORIZED_PARTY }),
    alive,
    async kill() {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface GqlAnswer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } | undefined;
}

export async function gql(url: string, query: string, token?: string, variables?: Record<string, unknown>): Promise<GqlAnswer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GqlAnswer["body"];
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body };
}
