/**
 * Who is asking, and the one rule that turns it into the settings a
 * transaction runs with: the role to switch to and app.current_user_id, both
 * transaction-local. The GraphQL layer (its pgSettings) and the services
 * (withUserContext, withPlatformAdmin) both take their settings from
 * transactionSettings, and both apply them through role-transaction.ts, so
 * the rule exists once.
 */
import type { Topology } from "../topology.ts";
import { isUuid } from "../uuid.ts";

export type Asking =
  /** A signed-in user: authenticated_users, limited to their rows by RLS. */
  | { readonly kind: "user"; readonly userId: string }
  /** Nobody signed in: the anonymous role. */
  | { readonly kind: "anonymous" }
  /** A trusted platform service: billing, usage, registration. */
  | { readonly kind: "platformAdmin" }
  /** What any signed-in user may see, for nobody in particular: how PostGraphile introspects. */
  | { readonly kind: "anyUser" }
  /** The job queue's connections (graphile-worker): the queue's tables, no data. */
  | { readonly kind: "worker" }
  /** The login itself, with no API role: catalog reads for health checks. */
  | { readonly kind: "login" };

/** The transaction-local settings; keys are PostgreSQL setting names. */
export interface TransactionSettings {
  readonly role: string;
  /**
   * Empty when nobody is asking, never absent: a value set at session level
   * (by a role default or an earlier SET) would otherwise show through.
   */
  readonly "app.current_user_id": string;
}


export function transactionSettings(asking: Asking, topology: Topology): TransactionSettings {
  switch (asking.kind) {
    case "user":
      // The database would treat a malformed id as "nobody"; a caller passing one has a bug worth hearing about.
      if (!isUuid(asking.userId)) {
        throw new TypeError(`acting as a user needs a user id (a uuid), got ${JSON.stringify(asking.userId)}`);
      }
      return { role: topology.role("authenticated").name, "app.current_user_id": asking.userId };
    case "anonymous":
      return { role: topology.role("anonymous").name, "app.current_user_id": "" };
    case "platformAdmin":
      return { role: topology.role("platformAdmin").name, "app.current_user_id": "" };
    case "anyUser":
      return { role: topology.role("authenticated").name, "app.current_user_id": "" };
    case "worker":
      return { role: topology.role("worker").name, "app.current_user_id": "" };
    case "login":
      // set_config('role', 'none') is RESET ROLE: the session's login role.
      return { role: "none", "app.current_user_id": "" };
  }
}

/** The roles the API may act as (for the RLS check). */
export function apiRoleNames(topology: Topology): string[] {
  return (["authenticated", "anonymous", "platformAdmin"] as const).map((k) => topology.role(k).name);
}
