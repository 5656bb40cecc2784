/**
 * What the runtime needs to reach the two databases: their names and URLs,
 * and the topology (for role names). Where the URLs come from (an embedded
 * server, provisioning, the environment) is the bootstrap's business
 * (src/bootstrap/); src/db/ takes URLs and nothing else.
 */
import type { DatabaseKey, Topology } from "../topology.ts";

export interface DatabaseEndpoints {
  readonly key: DatabaseKey;
  readonly name: string;
  /** The authenticator login: what the API and services connect as. */
  readonly apiUrl: string;
  /** The owner login: what migrations run as (absent when not configured). */
  readonly migrationUrl: string | undefined;
}

export interface Endpoints {
  readonly topology: Topology;
  readonly platform: DatabaseEndpoints;
  readonly userData: DatabaseEndpoints;
}
