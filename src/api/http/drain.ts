/**
 * Graceful shutdown of the HTTP side. Once draining starts, the server accepts
 * no new connections, and a new request on a kept-alive connection is answered
 * at once with 503 (SHUTTING_DOWN, Retry-After, Connection: close); requests
 * already running finish, their responses carry Connection: close so their
 * connections end with them. After the deadline (SHUTDOWN_TIMEOUT) whatever is
 * still open is cut. A grafserv middleware does the per-request part, so the
 * refusal happens before authentication or any database work.
 */
import type { Server } from "node:http";
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";

export interface Drain {
  readonly plugin: GraphileConfig.Plugin;
  /** Stops the server as described above; resolves when every connection is closed. `forced`: the deadline cut some. */
  close(server: Server, deadlineMs: number): Promise<{ forced: boolean }>;
}

export function createDrain(retryAfterSeconds: number): Drain {
  let draining = false;
  let inFlight = 0;
  let wake: (() => void) | undefined;

  const plugin: GraphileConfig.Plugin = {
    name: "AlwrityDrainPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processRequest(next) {
          if (draining) {
            return {
              type: "json" as const,
              statusCode: 503,
              headers: { "content-type": "application/json; charset=utf-8", connection: "close", "retry-after": String(retryAfterSeconds) },
              json: { errors: [{ message: "the server is shutting down", extensions: { code: "SHUTTING_DOWN" } }] } as never,
            };
          }
          inFlight++;
          try {
            const result = await next();
            if (draining && result) result.headers = { ...result.headers, connection: "close" };
            return result;
          } finally {
            inFlight--;
            if (inFlight === 0) wake?.();
          }
        },
      },
    },
  };

  return {
    plugin,
    async close(server, deadlineMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const deadline = Date.now() + deadlineMs;
      let timer: NodeJS.Timeout | undefined;
      const timeLeft = (ms: number) => new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
      // Kept-alive connections between requests hold the server open: close them as they go idle.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      try {
        server.closeIdleConnections();
        if (inFlight > 0) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), timeLeft(Math.max(0, deadline - Date.now()))]);
        clearTimeout(timer);
        const finished = await Promise.race([closed.then(() => true), timeLeft(Math.max(0, deadline - Date.now())).then(() => false)]);
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
