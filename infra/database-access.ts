/**
 * Who may connect to each database: PUBLIC loses every database privilege
 * (CONNECT and TEMPORARY), and each login the spec lists gets CONNECT.
 *
 * The database's owner gets no grant resource: ownership already gives it
 * every database privilege, and the provider revokes all of a role's
 * privileges before it grants the listed ones, which would take CREATE (and
 * so the migrations' `create schema`) away from the owner.
 */
import type * as postgresql from "@pulumi/postgresql";
import type { DatabaseKey, RoleKey, Topology } from "../src/topology.ts";
import type { DeclaredDatabase } from "./databases.ts";
import type { DeclaredRole } from "./roles.ts";
import type { DeclareGrant } from "./serial-grants.ts";

export function restrictDatabaseAccess(
  topology: Topology,
  roles: ReadonlyMap<RoleKey, DeclaredRole>,
  databases: ReadonlyMap<DatabaseKey, DeclaredDatabase>,
  grant: DeclareGrant,
): postgresql.Grant[] {
  const grants: postgresql.Grant[] = [];
  for (const spec of topology.databases) {
    const database = databases.get(spec.key)!.database;
    grants.push(
      grant(`revoke-public-${spec.key}`, { database: database.name, role: "public", objectType: "database", privileges: [] }),
    );
    for (const login of spec.connect) {
      if (login === spec.owner) continue;
      grants.push(
        grant(`connect-${login}-${spec.key}`, {
          database: database.name,
          role: roles.get(login)!.role.name,
          objectType: "database",
          privileges: ["CONNECT"],
        }),
      );
    }
  }
  return grants;
}
