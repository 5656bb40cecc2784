/** Small helpers for the API's plain HTTP routes (webhooks, billing, export, admin analytics): JSON answers and bounded bodies. */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A JSON answer, never cached; `headers` add to (or replace) the defaults. */
export function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
}

/** The body as text, or undefined after answering 413 when it is larger than `maxBytes`. */
export async function readBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      reply(res, 413, { error: `the body is larger than ${maxBytes} bytes` });
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
