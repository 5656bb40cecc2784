/**
 * One client, for as long as a callback runs: `connect(url, (client) => ...)`
 * opens it, and ends it whatever the callback does, so no test leaves a
 * connection behind (which would keep a server from stopping, or a database
 * from being dropped). For a client that lives as long as a test file, use
 * `fileClient(url)`: connected before the file's tests, ended after them.
 */
import pg from "pg";
import { afterAll, beforeAll } from "vitest";

export type ClientConfig = string | pg.ClientConfig;

const config = (target: ClientConfig): pg.ClientConfig => (typeof target === "string" ? { connectionString: target } : target);

export async function connect<T>(target: ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config(target));
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** A client for the whole test file; `target` is read when the file's tests start (a function when it depends on a fixture). */
export function fileClient(target: ClientConfig | (() => ClientConfig)): () => pg.Client {
  let client: pg.Client | undefined;
  beforeAll(async () => {
    const opened = new pg.Client(config(typeof target === "function" ? target() : target));
    await opened.connect();
    client = opened;
  });
  afterAll(async () => {
    await client?.end();
  });
  return () => {
    if (!client) throw new Error("fileClient() is connected inside tests only");
    return client;
  };
}
