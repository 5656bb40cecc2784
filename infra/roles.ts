/**
 * Every role of the topology spec, with the attributes the spec gives it.
 * Nothing here names a role or an attribute of its own: add or change a role
 * in src/topology.ts and both this program and local provisioning follow.
 */
import * as postgresql from "@pulumi/postgresql";
import * as random from "@pulumi/random";
import type { ResolvedRole, RoleKey, Topology } from "../src/topology.ts";

export interface DeclaredRole {
  readonly spec: ResolvedRole;
  readonly role: postgresql.Role;
  /** Present for login roles only; the password never leaves the stack unencrypted. */
  readonly password: random.RandomPassword | undefined;
}

export function declareRoles(
  topology: Topology,
  provider: postgresql.Provider,
  protect: boolean,
): ReadonlyMap<RoleKey, DeclaredRole> {
  const declared = new Map<RoleKey, DeclaredRole>();

  // A role is declared after the roles it is a member of, so its `roles`
  // input carries their names as outputs and Pulumi creates them first.
  const declare = (spec: ResolvedRole): DeclaredRole => {
    const existing = declared.get(spec.key);
    if (existing) return existing;
    if (spec.bypassRls && !spec.bypassRlsReason?.trim()) {
      throw new Error(`${spec.key} bypasses row-level security, but the topology spec gives no reason`);
    }
    const memberOf = spec.memberOf.map((key) => declare(topology.role(key)).role.name);
    const password = spec.login
      ? // Letters and digits only: the password ends up in URLs, .env files and shells, none of which then need escaping.
        new random.RandomPassword(`${spec.key}-password`, { length: 32, special: false }, { protect })
      : undefined;
    const role = new postgresql.Role(
      `role-${spec.key}`,
      {
        name: spec.name,
        login: spec.login,
        password: password?.result,
        inherit: spec.inherit,
        // Stated even where they match the provider's defaults: the policy is "never", not "by default".
        superuser: false,
        createDatabase: false,
        createRole: false,
        replication: false,
        bypassRowLevelSecurity: spec.bypassRls,
        statementTimeout: spec.statementTimeoutMs,
        // Authoritative: memberships the spec does not list are revoked, as local provisioning does.
        roles: memberOf,
      },
      { provider, protect },
    );
    const result = { spec, role, password };
    declared.set(spec.key, result);
    return result;
  };

  for (const spec of topology.roles) declare(spec);
  return declared;
}
