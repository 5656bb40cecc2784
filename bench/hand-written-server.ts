/**
 * The ceiling the GraphQL API is compared with: the least code that does the
 * same job per request. node:http and a pg pool of the API's size; the API's
 * own token verification (Clerk's verifyToken) and account resolution; one
 * transaction per request that switches to authenticated_users with the user
 * id set transaction-locally, exactly as the API does (begin and the
 * set_config calls in one round trip; the query as a prepared statement;
 * commit); the same
 * rows and the same JSON shape as the GraphQL answer. What it skips is what
 * GraphQL adds: parsing, validation, planning and the generic SQL.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { createAccountResolver, listenForRevocations } from "../src/api/auth/accounts.ts";
import { AuthError, createTokenVerifier } from "../src/api/auth/tokens.ts";
import type { Config } from "../src/config.ts";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { createDatabases } from "../src/db/databases.ts";
import { createPool } from "../src/db/pools.ts";
import { jsonLinesLogger } from "../src/log.ts";
import type { Operation } from "./workload.ts";

/** Begin and the settings in one simple-protocol round trip, as src/db/role-transaction.ts does. */
const beginAs = (client: pg.PoolClient, role: string, userId: string) =>
  `begin; select set_config('role', ${client.escapeLiteral(role)}, true), set_config('app.current_user_id', ${client.escapeLiteral(userId)}, true)`;

const SQL: Record<Operation, string> = {
  // A page as the API answers it (API_DEFAULT_PAGE_SIZE), so both send the same rows.
  projects: "select id, project_name, project_type, created_at from user_data.user_projects order by created_at desc limit 20",
  projectAssets: `select p.id, p.project_name, a.id as asset_id, a.title, a.asset_type, a.created_at
    from user_data.user_projects p
    left join lateral (
      select id, title, asset_type, created_at from user_data.user_content_assets a
       where a.user_id = p.user_id and a.project_id = p.id order by a.created_at desc limit 20
    ) a on true
   where p.id = $1`,
  createAsset: `insert into user_data.user_content_assets (project_id, asset_type, title, content)
    values ($1, 'blog_post', $2, $3) returning id, title, created_at`,
};

const enumName = (value: string) => value.toUpperCase();

type Row = Record<string, any>;
const ANSWER: Record<Operation, (rows: Row[]) => unknown> = {
  projects: (rows) => ({
    projects: { nodes: rows.map((r) => ({ rowId: r.id, projectName: r.project_name, projectType: enumName(r.project_type), createdAt: r.created_at })) },
  }),
  projectAssets: (rows) =>
    rows.length === 0
      ? { project: null }
      : {
          project: {
            rowId: rows[0]!.id,
            projectName: rows[0]!.project_name,
            assets: {
              nodes: rows
                .filter((r) => r.asset_id !== null)
                .map((r) => ({ rowId: r.asset_id, title: r.title, assetType: enumName(r.asset_type), createdAt: r.created_at })),
            },
          },
        },
  createAsset: (rows) => ({ createAsset: { asset: { rowId: rows[0]!.id, title: rows[0]!.title, createdAt: rows[0]!.created_at } } }),
};

function params(op: Operation, body: Record<string, unknown>): unknown[] {
  if (op === "projects") return [];
  if (op === "projectAssets") return [body.id];
  return [body.projectId, body.title, body.content ?? ""];
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, json: unknown): void {
  const body = JSON.stringify(json);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Listens on a free port of the loopback address. */
export async function listenLocally(server: Server): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
}

/** Waits (10 s at most) for an account resolver's cache, which its revocation listener turns on. */
export async function accountCacheOn(config: Config, resolveAccount: { caching(): boolean }, who: string): Promise<void> {
  const listeningBy = Date.now() + 10_000;
  while ((config.poolerMode === "session" || config.listenUrl) && !resolveAccount.caching()) {
    if (Date.now() > listeningBy) throw new Error(`${who}'s account cache did not start (its revocation listener never connected)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface HandWrittenServer {
  /** Origin, e.g. http://127.0.0.1:40123. */
  url: string;
  stop(): Promise<void>;
}

export async function startHandWrittenServer(config: Config, deployment: Deployment): Promise<HandWrittenServer> {
  // The same account resolver the API gets, and a pool of the API's size that the handler runs its own transactions on
  // (the ceiling skips the database service API's checks on purpose).
  const databases = createDatabases(deployment, config);
  const pools = { userData: createPool({ name: deployment.userData.name, url: deployment.userData.apiUrl }, config.pool, "alwrity-bench", jsonLinesLogger()) };
  const verify = createTokenVerifier(config.clerk, undefined);
  // No registration limit: the ceiling measures the work a request does, not the API's guards.
  const resolveAccount = createAccountResolver(databases, undefined);
  // Cached account ids, as the API has them: without the listener every request would register again.
  const revocations = listenForRevocations(databases, config, resolveAccount);
  const role = deployment.topology.role("authenticated").name;

  async function run(op: Operation, userId: string, values: unknown[]): Promise<Row[]> {
    const client: pg.PoolClient = await pools.userData.connect();
    try {
      try {
        await client.query(beginAs(client, role, userId));
        const { rows } = await client.query({ name: `bench_${op}`, text: SQL[op], values });
        await client.query("commit");
        return rows;
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    } finally {
      client.release();
    }
  }

  const server = createServer((req, res) => {
    const op = req.url?.slice(1) as Operation;
    if (req.method !== "POST" || !(op in SQL)) return send(res, 404, { errors: [{ message: "Not found" }] });
    (async () => {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      if (!token) throw new AuthError("authorization-missing");
      const identity = await verify(token);
      const userId = await resolveAccount(identity, req.socket.remoteAddress ?? "unknown");
      const rows = await run(op, userId, params(op, await readBody(req)));
      send(res, 200, { data: ANSWER[op](rows) });
    })().catch((error: unknown) => {
      if (error instanceof AuthError) send(res, 401, { errors: [{ message: "Unauthorized", extensions: { reason: error.reason } }] });
      else send(res, 500, { errors: [{ message: error instanceof Error ? error.message : String(error) }] });
    });
  });
  await listenLocally(server);
  // A ceiling that registered the account on every request would flatter the API (it did once): wait for the cache.
  await accountCacheOn(config, resolveAccount, "the hand-written ceiling");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pools.userData.end();
      await revocations.close();
      await databases.close();
    },
  };
}
