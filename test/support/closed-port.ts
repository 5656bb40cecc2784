/** A local port nothing listens on: a database URL pointing there is unreachable. */
import { createServer } from "node:net";

export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** `url` with its port replaced by one nothing listens on. */
export async function unreachable(url: string): Promise<string> {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(await closedPort());
  return u.toString();
}
