/**
 * Graceful shutdown of the HTTP side. Once draining starts, every request that
 * reaches the process, on any route (GraphQL, the plain routes, /health,
 * /ready), on a kept-alive connection or a new one, is answered at once with
 * 503 (SHUTTING_DOWN, Retry-After, Connection: close): a whole HTTP answer a
 * proxy can act on, never a reset. Requests already running finish; their
 * responses carry Connection: close so their connections end with them.
 *
 * Idle kept-alive connections are not closed at once: a client may be writing
 * a request on one at that very moment, and a connection closed under a
 * request is a reset the client cannot tell from a crash (a proxy must not
 * retry a POST it sent). So for LINGER_MS the server keeps listening and
 * answers everything with 503; then it stops accepting connections and closes
 * the idle ones (and each one as it goes idle). After the deadline
 * (SHUTDOWN_TIMEOUT) whatever is still open is cut.
 *
 * The refusal wraps the server's one request listener (server.ts), so no route
 * can bypass it and it happens before authentication or any database work.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/**
 * How long a draining server still answers 503 on idle kept-alive connections
 * before closing them: long enough for a request already on the wire when the
 * signal came, and for a balancer polling /ready to see 503 first.
 */
export const LINGER_MS = 1_000;

export interface Drain {
  /**
   * Called first for every request: answers 503 and returns false while draining;
   * otherwise counts the request as in flight until its response is done and returns true.
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean;
  /** Stops the server as described above; resolves when every connection is closed. `forced`: the deadline cut some. */
  close(server: Server, deadlineMs: number): Promise<{ forced: boolean }>;
}

export function createDrain(retryAfterSeconds: number, lingerMs = LINGER_MS): Drain {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  let wake: (() => void) | undefined;

  return {
    admit(req, res) {
      if (draining) {
        // The request's body is not read: with Connection: close the socket ends after this answer.
        res.writeHead(503, { "content-type": "application/json; charset=utf-8", connection: "close", "retry-after": String(retryAfterSeconds) });
        res.end(JSON.stringify({ errors: [{ message: "the server is shutting down", extensions: { code: "SHUTTING_DOWN" } }] }));
        req.resume();
        return false;
      }
      inFlight.add(res);
      res.once("close", () => {
        inFlight.delete(res);
        if (inFlight.size === 0) wake?.();
      });
      return true;
    },
    async close(server, deadlineMs) {
      draining = true;
      // Responses still to be written end their connections (Node merges this header into writeHead's).
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      const deadline = Date.now() + deadlineMs;
      let timer: NodeJS.Timeout | undefined;
      const timeLeft = (ms: number) => new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
      let sweep: NodeJS.Timeout | undefined;
      try {
        await timeLeft(Math.min(lingerMs, deadlineMs));
        // From here no new connection is accepted (Node's close() also closes the idle ones);
        // kept-alive connections between requests would hold the server open: close them as they go idle.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        sweep = setInterval(() => server.closeIdleConnections(), 50);
        if (inFlight.size > 0) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), timeLeft(deadline - Date.now())]);
        clearTimeout(timer);
        const finished = await Promise.race([closed.then(() => true), timeLeft(deadline - Date.now()).then(() => false)]);
        if (finished) return { forced: false };
        server.closeAllConnections();
        await closed;
        return { forced: true };
      } finally {
        clearTimeout(timer);
        clearInterval(sweep);
      }
    },
  };
}
