/**
 * METRICS=port: /metrics, on a port of its own that the network keeps
 * private. The API serves it there instead of on its own port; the job worker
 * as a process of its own (`alwrity worker`) has no other HTTP port, so this
 * is how it shows its counts, and its readiness: given `ready`, GET /ready
 * answers 200 or 503 with what it says (docs/readiness-and-shutdown.md).
 */
import { createServer, type Server } from "node:http";
import type { Metrics } from "./metrics.ts";

export type ReadinessProbe = () => { ok: boolean; detail?: string };

export async function serveMetrics(metrics: Metrics, port: number, host: string, ready?: ReadinessProbe): Promise<Server> {
  const server = createServer((req, res) => {
    if (ready && req.method === "GET" && req.url === "/ready") {
      const health = ready();
      const body = { status: health.ok ? "ready" : "not ready", checks: { worker: health } };
      res.writeHead(health.ok ? 200 : 503, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
      return;
    }
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end(`only GET /metrics${ready ? " and GET /ready are" : " is"} served here\n`);
      return;
    }
    metrics.render().then(
      ({ contentType, text }) => res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(text),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(`port ${port} is already in use: set METRICS_PORT to a free port`) : error),
    );
    server.listen(port, host, resolve);
  });
  return server;
}
