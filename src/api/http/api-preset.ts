/**
 * The whole API's preset: the schema's (graphql/preset.ts, what the schema
 * export uses too) plus grafserv's middleware and the per-request plugins, in
 * the order they run.
 */
import { PersistedPlugin } from "@grafserv/persisted";
import type { Config } from "../../config.ts";
import type { Databases } from "../../db/databases.ts";
import type { Logger } from "../../log.ts";
import type { Topology } from "../../topology.ts";
import { authGatePlugin } from "../auth/gate.ts";
import type { SignInServices } from "../auth/sign-in-services.ts";
import { operationLimitsPlugin } from "../graphql/operation-limits.ts";
import { makeSchemaPreset } from "../graphql/preset.ts";
import { revokeOnDeletionPlugin } from "../graphql/revoke-on-deletion.ts";
import { idempotencyPlugin } from "../idempotency/plugin.ts";
import { databaseUnavailablePlugin } from "./database-unavailable.ts";

export interface ApiPresetParts {
  readonly config: Config;
  readonly databases: Databases;
  readonly topology: Topology;
  readonly log: Logger;
  readonly signInServices: SignInServices;
  /** Health, readiness, metrics and each request's measurements (operations.ts). */
  readonly operations: GraphileConfig.Plugin;
}

export function makeApiPreset({ config, databases, topology, log, signInServices, operations }: ApiPresetParts): GraphileConfig.Preset {
  const { api } = config;
  const trusted = api.trustedDocumentsDir;
  return {
    extends: [makeSchemaPreset({ environment: config.environment, topology, databases, api })],
    // Middleware runs in this order: health, readiness, metrics and the request's measurements, then
    // 503 for a database away, then sign-in. The refusal while draining comes before all (request-listener.ts).
    plugins: [
      operations,
      databaseUnavailablePlugin(api.retryAfterSeconds),
      authGatePlugin({ signIn: signInServices.signIn, retryAfterSeconds: api.retryAfterSeconds, requestTimeoutMs: config.fairUse.requestTimeoutMs, log }),
      // Inside sign-in (keys are per user) and the request's budget: one held transaction per keyed request.
      idempotencyPlugin({ ttlSeconds: api.idempotencyKeyTtlSeconds, retryAfterSeconds: api.retryAfterSeconds, log }),
      operationLimitsPlugin(api.limits, api.introspection),
      revokeOnDeletionPlugin((userId) => signInServices.resolveAccount.revoke(userId)),
      // Trusted documents (API_TRUSTED_DOCUMENTS): only operations whose files are in the folder run.
      ...(trusted ? [PersistedPlugin] : []),
    ],
    ...(trusted ? { grafserv: { persistedOperationsDirectory: trusted, allowUnpersistedOperation: false } } : {}),
  };
}
