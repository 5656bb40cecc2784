/**
 * Per-request state that outlives the HTTP layer: who is asking (set by the
 * auth gate, read by grafast.context) and a request id for logs and error
 * responses (read by the error mask through async context).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage } from "node:http";

export type Viewer = { kind: "anonymous" } | { kind: "user"; userId: string };

export interface RequestState {
  requestId: string;
  viewer: Viewer;
}

const byRequest = new WeakMap<IncomingMessage, RequestState>();
export const currentRequest = new AsyncLocalStorage<RequestState>();

export function rememberRequest(req: IncomingMessage, state: RequestState): void {
  byRequest.set(req, state);
}

export function requestStateOf(req: IncomingMessage | undefined): RequestState | undefined {
  return req ? byRequest.get(req) : undefined;
}
