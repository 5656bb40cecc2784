/**
 * A tiny stand-in for the Stripe API on 127.0.0.1, for tests: the stripe
 * package is pointed at it with STRIPE_API_BASE (its host/port/protocol
 * options), so checkout and portal sessions are made without a network. It
 * answers the three calls the API makes and records every request.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

export interface FakeStripeRequest {
  method: string;
  path: string;
  /** The form-encoded body, decoded (keys as Stripe writes them: metadata[user_id], line_items[0][price]). */
  form: Record<string, string>;
  idempotencyKey: string | undefined;
}

export interface FakeStripe {
  readonly url: string;
  readonly requests: FakeStripeRequest[];
  close(): Promise<void>;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: FakeStripeRequest[] = [];
  const customers = new Map<string, string>(); // idempotency key → customer id, as Stripe keeps them
  let base = "";
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      const idempotencyKey = typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : undefined;
      const path = req.url ?? "";
      requests.push({ method: req.method ?? "", path, form, idempotencyKey });
      const send = (status: number, value: object) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;
      if (req.method === "POST" && path === "/v1/customers") {
        const customer = (idempotencyKey && customers.get(idempotencyKey)) || id("cus");
        if (idempotencyKey) customers.set(idempotencyKey, customer);
        return send(200, { id: customer, object: "customer", metadata: {} });
      }
      if (req.method === "POST" && path === "/v1/checkout/sessions") {
        const session = id("cs_test");
        return send(200, { id: session, object: "checkout.session", url: `${base}/pay/${session}`, customer: form.customer });
      }
      if (req.method === "POST" && path === "/v1/billing_portal/sessions") {
        return send(200, { id: id("bps"), object: "billing_portal.session", url: `${base}/portal/${form.customer}` });
      }
      send(404, { error: { type: "invalid_request_error", message: `the fake has no ${req.method} ${path}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: base, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
