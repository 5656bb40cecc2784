/**
 * Per-request state, set by the auth gate for the rest of the request's
 * async work: who is asking (read by grafast.context) and a request id for
 * logs and error responses (read by the error mask).
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** `admin`: the verified token holds the admin claim (ADMIN_CLAIM); only the admin routes read it. */
export type Viewer = { kind: "anonymous" } | { kind: "user"; userId: string; admin: boolean };

export interface RequestState {
  requestId: string;
  viewer: Viewer;
}

export const currentRequest = new AsyncLocalStorage<RequestState>();
