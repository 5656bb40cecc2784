/**
 * The server's one request listener: the refusal while draining first (every
 * route answers 503 once shutdown starts), then the plain routes, then
 * grafserv's own listeners for everything else.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Logger } from "../../log.ts";
import type { PlainRoute } from "../routes/plain-routes.ts";
import type { Drain } from "./drain.ts";

/** Call after grafserv has added its listeners to `server`: they are taken over, not doubled. */
export function takeOverRequests(server: Server, drain: Drain, routes: readonly PlainRoute[], log: Logger): void {
  const grafservListeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!drain.admit(req, res)) return;
    const pathname = req.url?.split("?")[0] ?? "";
    const route = routes.find((r) => r.matches(pathname));
    if (!route) {
      for (const listener of grafservListeners) listener.call(server, req, res);
      return;
    }
    void route.handle(req, res).catch((error: Error) => {
      log(route.failed, { path: pathname, message: error.message });
      if (!res.headersSent) res.writeHead(500).end();
      // After the first byte, a failure cuts the response off: a client never takes a partial answer for a whole one.
      else res.destroy(error);
    });
  });
}

/** Listens on `port`/`host`; a port in use is named with what to do. */
export async function listenOn(server: Server, port: number, host: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${port} is already in use: stop the other server or set PORT`) : error;
  }
}
