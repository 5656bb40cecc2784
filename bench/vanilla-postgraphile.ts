/**
 * What a team would run instead of this project's API: PostGraphile v5 as it
 * comes (the Amber preset) over the same two databases, the same schemas, as
 * two pgServices, served by grafserv on node:http in production mode. It does
 * what the API must do per request and nothing of the project's own: the same
 * token verification and account resolution (with the same revocation-fed
 * cache) turned into the same settings (transactionSettings: the role and
 * app.current_user_id), a pool of the same size per database; none of the
 * project's plugins (naming, smart tags, limits, metrics, fair use, sign-in
 * middleware, error masking). Its names are PostGraphile's defaults, so it
 * gets its own documents (workload.ts vanillaRequests) with the same meaning.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { serviceKeys } from "../src/api/graphql/service-keys.ts";
import { createAccountResolver, listenForRevocations } from "../src/api/auth/accounts.ts";
import { AuthError, createTokenVerifier } from "../src/api/auth/tokens.ts";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import type { Config } from "../src/config.ts";
import { transactionSettings } from "../src/db/asking.ts";
import { createDatabases } from "../src/db/databases.ts";
import { DATABASE_KEYS } from "../src/topology.ts";
import { accountCacheOn, listenLocally } from "./hand-written-server.ts";
import type { HttpRequestSpec } from "./load/http-load.ts";
import { graphqlRequests, OPERATION_LABELS, vanillaAnswerAsApi, vanillaRequests, type BenchUser, type Operation } from "./workload.ts";

export interface VanillaServer {
  /** Origin, e.g. http://127.0.0.1:40123. */
  url: string;
  /** The schema PostGraphile built, as SDL (to write the documents against). */
  schemaText(): Promise<string>;
  stop(): Promise<void>;
}

export async function startVanillaPostGraphile(config: Config, deployment: Deployment): Promise<VanillaServer> {
  // Only for the account resolver and its revocation listener, as the hand-written handler has them.
  const databases = createDatabases(deployment, config);
  const verify = createTokenVerifier(config.clerk, undefined);
  const resolveAccount = createAccountResolver(databases, undefined);
  const revocations = listenForRevocations(databases, config, resolveAccount);
  const topology = deployment.topology;
  const pools = DATABASE_KEYS.map(
    (key) =>
      new pg.Pool({
        connectionString: deployment[key].apiUrl,
        max: config.pool.size + config.pool.maxOverflow,
        connectionTimeoutMillis: config.pool.timeoutMs,
        idleTimeoutMillis: 30_000,
      }),
  );
  const anonymous = { ...transactionSettings({ kind: "anonymous" }, topology) };
  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: DATABASE_KEYS.map((key, i) =>
      makePgService({
        name: key,
        pool: pools[i]!,
        schemas: [topology.database(key).schema],
        // The context keys our services use (names only: no plugin of ours comes with them).
        pgSettingsKey: serviceKeys(key).pgSettingsKey,
        withPgClientKey: serviceKeys(key).withPgClientKey,
        // Introspected as any signed-in user, as ours is: the schema shows what a user may do.
        pgSettingsForIntrospection: { ...transactionSettings({ kind: "anyUser" }, topology) },
        pubsub: false,
      }),
    ),
    grafserv: { graphqlPath: "/graphql", graphiql: false },
    grafast: {
      async context(requestContext) {
        const req = (requestContext as { node?: { req?: IncomingMessage } }).node?.req;
        const token = /^Bearer\s+(\S+)$/i.exec(req?.headers.authorization ?? "")?.[1];
        let settings: Record<string, string> = anonymous;
        if (token) {
          try {
            const userId = await resolveAccount(await verify(token), req?.socket.remoteAddress ?? "unknown");
            settings = { ...transactionSettings({ kind: "user", userId }, topology) };
          } catch (error) {
            if (!(error instanceof AuthError)) throw error;
          }
        }
        return Object.fromEntries(DATABASE_KEYS.map((key) => [serviceKeys(key).pgSettingsKey, settings]));
      },
    },
  };
  const pgl = postgraphile(preset);
  const server = createServer();
  try {
    await pgl.getSchema();
    await pgl.createServ(grafserv).addTo(server);
    await listenLocally(server);
    // The same cache as the API's and the ceiling's, or every request would register the account again.
    await accountCacheOn(config, resolveAccount, "vanilla PostGraphile");
  } catch (error) {
    server.close();
    await pgl.release();
    await Promise.all(pools.map((p) => p.end()));
    await revocations.close();
    await databases.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    schemaText: async () => (await import("graphql")).printSchema(await pgl.getSchema()),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pgl.release();
      await Promise.all(pools.map((p) => p.end()));
      await revocations.close();
      await databases.close();
    },
  };
}

const answerOf = async (origin: string, request: HttpRequestSpec) => {
  const response = await fetch(origin + request.path, { method: request.method, headers: request.headers, body: request.body });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (response.status !== 200 || body.errors) throw new Error(`${origin}${request.path} answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
};

/** A created asset's answer without what differs between two creations (its id and time). */
const creationShape = (answer: any) => ({ ...answer, createAsset: { asset: { ...answer.createAsset.asset, rowId: typeof answer.createAsset.asset.rowId, createdAt: typeof answer.createAsset.asset.createdAt } } });

/**
 * Vanilla's documents must mean what the API's do, or the comparison lies: for each user,
 * the same question to both, and vanilla's answer in the API's names must equal the API's
 * (a creation: the same fields and title; ids and times are new each time).
 */
export async function checkSameAnswers(apiOrigin: string, vanillaOrigin: string, op: Operation, users: BenchUser[]): Promise<void> {
  const ours = graphqlRequests(op, users);
  const theirs = vanillaRequests(op, users);
  for (const [i, request] of ours.entries()) {
    let api = await answerOf(apiOrigin, request);
    let vanilla = vanillaAnswerAsApi(op, await answerOf(vanillaOrigin, theirs[i]!));
    if (op === "createAsset") [api, vanilla] = [creationShape(api), creationShape(vanilla)];
    if (!isDeepStrictEqual(api, vanilla)) {
      const [a, b] = [JSON.stringify(api), JSON.stringify(vanilla)];
      let at = 0;
      while (at < a.length && a[at] === b[at]) at++;
      throw new Error(
        `vanilla PostGraphile answers ${OPERATION_LABELS[op]} differently for user ${users[i]!.n}, from character ${at}: ${b.slice(Math.max(0, at - 100), at + 200)} vs the API's ${a.slice(Math.max(0, at - 100), at + 200)}`,
      );
    }
  }
}
