/**
 * A running API takes up a deployed schema change without a restart. `alwrity deploy`
 * (src/bootstrap/deploy.ts) sends a notice on SCHEMA_CHANNEL in the platform database once its
 * migrations have committed; each API process hears it on a LISTEN connection of its own
 * (the pattern of the revocations, src/api/auth/accounts.ts), builds a fresh PostGraphile
 * schema from the same preset (introspecting both databases again, off to the side) and
 * hands it to grafserv's setSchema. grafserv reads its schema once per request, when the
 * request starts executing: a request under way finishes on the schema it began with, the
 * next one gets the new one, and none is refused or waits for the build.
 *
 * A build that fails leaves the old schema serving (and is logged): the deploy's expand
 * step keeps the old schema valid against the new database (docs/migrations.md). A notice
 * sent while the listener was away is lost, so a listener that (re)connects after the
 * first schema was built rebuilds once. Notices that arrive during a build are folded
 * into one more build after it.
 *
 * Through a transaction pooler without DATABASE_LISTEN_URL nothing can listen: the
 * process then keeps its schema until it restarts (docs/operations.md, "Deploying").
 */
import { makeSchema } from "postgraphile";
import type { GraphQLSchema } from "postgraphile/graphql";
import type { PoolerMode } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import { SCHEMA_CHANNEL } from "../../topology.ts";

/** How long the start waits for the listener before building the first schema. */
const LISTEN_WAIT_MS = 5_000;

export interface SchemaTarget {
  setSchema(schema: GraphQLSchema): void;
}

export interface SchemaReload {
  /** Whether a listener runs at all (false through a transaction pooler without DATABASE_LISTEN_URL). */
  readonly listening: boolean;
  /**
   * Resolves once the listener listens (or after a bounded wait): call it before the first
   * schema is built, so that no deploy can commit unheard between that build and the LISTEN.
   */
  ready(): Promise<void>;
  /** From now on a notice rebuilds the schema and gives it to `target`; notices heard before are served now. */
  attach(target: SchemaTarget): void;
  /** Stops listening; a build under way is awaited and its schema dropped. */
  close(): Promise<void>;
}

export interface SchemaReloadOptions {
  readonly databases: Pick<Databases, "listen">;
  readonly settings: { poolerMode: PoolerMode; listenUrl: string | undefined };
  /** The preset the server's PostGraphile instance was made from. */
  readonly preset: GraphileConfig.Preset;
  readonly log: Logger;
  /** How a schema is built (tests replace it); PostGraphile's makeSchema by default. */
  readonly build?: (preset: GraphileConfig.Preset) => Promise<{ schema: GraphQLSchema }>;
}

export function reloadSchemaOnNotice(options: SchemaReloadOptions): SchemaReload {
  const build = options.build ?? makeSchema;
  const { log } = options;
  let target: SchemaTarget | undefined;
  let wanted = false;
  let running: Promise<void> | undefined;
  let closed = false;
  // Whether the listener's first connection counts as "before the first build" (no rebuild for it).
  let first = true;
  let markReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));

  const rebuild = async () => {
    while (wanted && !closed && target) {
      wanted = false;
      const started = performance.now();
      try {
        const { schema } = await build(options.preset);
        if (closed) return;
        target.setSchema(schema);
        log("schema_reloaded", { ms: Math.round(performance.now() - started) });
      } catch (error) {
        log("schema_reload_failed", { message: (error as Error).message, note: "the API keeps serving the schema it had" });
      }
    }
  };
  const request = () => {
    wanted = true;
    if (!target || running || closed) return;
    running = rebuild().finally(() => (running = undefined));
  };

  if (options.settings.poolerMode !== "session" && !options.settings.listenUrl) {
    log("schema_reload_off", { reason: "DATABASE_POOLER_MODE=transaction without DATABASE_LISTEN_URL: a deployed schema change needs a restart" });
    markReady();
    return { listening: false, ready: () => readyPromise, attach: () => undefined, close: async () => undefined };
  }
  const listener = options.databases.listen(
    "platform",
    SCHEMA_CHANNEL,
    {
      onNotify: () => request(),
      onListening: (on) => {
        if (!on) return;
        if (first) {
          first = false;
          markReady();
          return;
        }
        request(); // reconnected: a notice may have been missed meanwhile
      },
    },
    options.settings.listenUrl,
  );
  const waited = setTimeout(() => {
    // Not listening yet: the first schema is built anyway, and the first connection then rebuilds.
    first = false;
    markReady();
  }, LISTEN_WAIT_MS);
  waited.unref();
  void readyPromise.then(() => clearTimeout(waited));

  return {
    listening: true,
    ready: () => readyPromise,
    attach(t) {
      target = t;
      if (wanted) request();
    },
    async close() {
      closed = true;
      await listener.close();
      await running;
    },
  };
}
