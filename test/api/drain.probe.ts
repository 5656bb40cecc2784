/**
 * Shutdown answers, it does not reset: requests written on kept-alive sockets
 * at the moment the real API process gets SIGTERM, on every kind of route
 * (GraphQL, /ready, /health, export, billing, webhooks), and on a connection
 * opened just after it, each get a whole, parseable HTTP 503 with the code
 * SHUTTING_DOWN, Connection: close and Retry-After; a slow request already in
 * flight still finishes with 200; the process exits 0. Raw sockets (node:net),
 * so nothing between the test and the process retries or hides a reset.
 */
import { connect, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApiProcess, type ApiProcess } from "../support/api-process.ts";
import { endpointsEnv, ownDeployment } from "../support/databases.ts";

const own = ownDeployment();
let api: ApiProcess;

beforeAll(async () => {
  api = await startApiProcess({ ...endpointsEnv(own()), WORKER_IN_PROCESS: "false", SHUTDOWN_TIMEOUT: "20", API_RETRY_AFTER: "3" });
}, 120_000);
afterAll(() => api?.kill());

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 response from the start of `text`, with the rest; undefined while incomplete. */
function parseResponse(text: string): { response: Parsed; rest: string } | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine!);
  if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
  if (headers["transfer-encoding"] === "chunked") {
    let at = end + 4;
    let body = "";
    for (;;) {
      const line = text.indexOf("\r\n", at);
      if (line < 0) return undefined;
      const size = parseInt(text.slice(at, line), 16);
      if (text.length < line + 2 + size + 2) return undefined;
      if (size === 0) return { response: { status: Number(match[1]), headers, body }, rest: text.slice(line + 4) };
      body += text.slice(line + 2, line + 2 + size);
      at = line + 2 + size + 2;
    }
  }
  const length = Number(headers["content-length"] ?? 0);
  const bodyStart = end + 4;
  if (Buffer.byteLength(text.slice(bodyStart)) < length) return undefined;
  const body = Buffer.from(text.slice(bodyStart)).subarray(0, length).toString();
  return { response: { status: Number(match[1]), headers, body }, rest: Buffer.from(text.slice(bodyStart)).subarray(length).toString() };
}

/** A raw kept-alive connection: send a request, get the next response, or what happened instead. */
class RawConnection {
  private buffered = "";
  private ended: string | undefined;
  private waiter: (() => void) | undefined;
  private readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffered += chunk;
      this.waiter?.();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.ended ??= `error ${error.code ?? error.message}`;
      this.waiter?.();
    });
    socket.on("close", () => {
      this.ended ??= "closed";
      this.waiter?.();
    });
  }
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }
  write(method: string, path: string, headers: Record<string, string> = {}, body = ""): void {
    const head = Object.entries({ host: "127.0.0.1", "content-length": String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    this.socket.write(`${method} ${path} HTTP/1.1\r\n${head.join("")}\r\n${body}`);
  }
  /** The next response, or a string saying how the connection ended without one. */
  async next(timeoutMs = 30_000): Promise<Parsed | string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buffered);
      if (parsed) {
        this.buffered = parsed.rest;
        return parsed.response;
      }
      if (this.ended) return `${this.ended} without a response (had ${JSON.stringify(this.buffered.slice(0, 100))})`;
      if (Date.now() > deadline) return "no response in time";
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  destroy(): void {
    this.socket.destroy();
  }
}

const GRAPHQL = { "content-type": "application/json" };
const LIST = JSON.stringify({ query: "{ projects { nodes { projectName } } }" });

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${api.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("after SIGTERM every request gets a whole 503 SHUTTING_DOWN, on every route and kept-alive socket; the slow in-flight request finishes with 200", async () => {
  const port = Number(new URL(api.url).port);
  const token = api.token("user_drain_raw");
  const auth = { ...GRAPHQL, authorization: `Bearer ${token}` };
  // One request per socket: every kind of route the process serves.
  const late: [string, string, Record<string, string>, string][] = [
    ["POST", "/graphql", auth, LIST],
    ["POST", "/graphql", GRAPHQL, JSON.stringify({ query: "{ __typename }" })],
    ["GET", "/ready", {}, ""],
    ["GET", "/health", {}, ""],
    ["GET", "/export", { authorization: `Bearer ${token}` }, ""],
    ["POST", "/billing/checkout", auth, "{}"],
    ["POST", "/webhooks/stripe", GRAPHQL, "{}"],
    ["POST", "/webhooks/clerk", GRAPHQL, "{}"],
  ];
  // Written at the moment of the signal (the process may not have seen it yet), and after it has.
  const atTheMoment = await Promise.all(late.map(() => RawConnection.open(port)));
  const afterwards = await Promise.all(late.map(() => RawConnection.open(port)));
  const slow = await RawConnection.open(port);
  const locker = new pg.Client(own().userData.migrationUrl!);
  locker.on("error", () => undefined);
  try {
    // Every socket has served one request and is now an idle kept-alive connection.
    for (const connection of [...atTheMoment, ...afterwards]) connection.write("GET", "/health");
    for (const connection of [...atTheMoment, ...afterwards]) expect(await connection.next()).toMatchObject({ status: 200 });
    // The user exists before the lock, so the slow request waits only on the lock.
    slow.write("POST", "/graphql", auth, LIST);
    expect(await slow.next()).toMatchObject({ status: 200 });

    await locker.connect();
    await locker.query("begin; lock table user_data.user_projects in access exclusive mode");
    slow.write("POST", "/graphql", auth, LIST);
    await new Promise((resolve) => setTimeout(resolve, 500));

    api.child.kill("SIGTERM");
    late.forEach(([method, path, headers, body], i) => atTheMoment[i]!.write(method, path, headers, body));
    await until("the process to start draining", () => /SIGTERM: stopping/.test(api.output()));
    late.forEach(([method, path, headers, body], i) => afterwards[i]!.write(method, path, headers, body));
    const fresh = await RawConnection.open(port).catch((error: NodeJS.ErrnoException) => String(error.code));
    if (typeof fresh !== "string") fresh.write("GET", "/ready");

    const answers = await Promise.all(afterwards.map((connection) => connection.next()));
    const summary = answers.map((answer, i) => `${late[i]![0]} ${late[i]![1]}: ${typeof answer === "string" ? answer : answer.status}`);
    expect(summary).toEqual(late.map(([method, path]) => `${method} ${path}: 503`));
    expect(fresh, "a connection opened just after the signal is still answered").not.toBeTypeOf("string");
    for (const answer of [...answers, await (fresh as RawConnection).next()]) {
      expect(answer).not.toBeTypeOf("string");
      const { headers, body } = answer as Parsed;
      expect(headers.connection).toBe("close");
      expect(headers["retry-after"]).toBe("3");
      expect(JSON.parse(body).errors[0].extensions.code).toBe("SHUTTING_DOWN");
    }
    // Connection: close was meant: each socket ends after its 503.
    for (const connection of afterwards) expect(await connection.next(5_000)).toMatch(/^closed without a response/);

    await locker.query("rollback");
    const finished = await slow.next();
    expect(finished).not.toBeTypeOf("string");
    expect((finished as Parsed).status).toBe(200);
    expect((finished as Parsed).headers.connection).toBe("close");
    expect(JSON.parse((finished as Parsed).body).errors).toBeUndefined();
    // Those written as the signal came were served or refused, each with a whole answer.
    const moment = await Promise.all(atTheMoment.map((connection) => connection.next()));
    const unanswered = moment.map((answer, i) => [late[i]![1], answer] as const).filter(([, answer]) => typeof answer === "string");
    expect(unanswered).toEqual([]);
    expect(await api.exited).toBe(0);
  } finally {
    for (const connection of [...atTheMoment, ...afterwards, slow]) connection.destroy();
    await locker.end().catch(() => undefined);
  }
}, 120_000);
