/**
 * The two databases, owned by the spec's owner role, and the extensions the
 * spec lists for each.
 *
 * Schemas, tables, their grants and default privileges belong to the
 * migrations, which run as the owner: every object they create is the owner's,
 * they grant each role what it needs explicitly, and they revoke EXECUTE from
 * PUBLIC by default themselves. Declaring default privileges here as well
 * would split one concern across two tools that would overwrite each other.
 */
import * as postgresql from "@pulumi/postgresql";
import type { DatabaseKey, ResolvedDatabase, RoleKey, Topology } from "../src/topology.ts";
import type { DeclaredRole } from "./roles.ts";

export interface DeclaredDatabase {
  readonly spec: ResolvedDatabase;
  readonly database: postgresql.Database;
  readonly extensions: readonly postgresql.Extension[];
}

export function declareDatabases(
  topology: Topology,
  roles: ReadonlyMap<RoleKey, DeclaredRole>,
  provider: postgresql.Provider,
  protect: boolean,
): ReadonlyMap<DatabaseKey, DeclaredDatabase> {
  const declared = new Map<DatabaseKey, DeclaredDatabase>();
  for (const spec of topology.databases) {
    const owner = roles.get(spec.owner);
    if (!owner) throw new Error(`${spec.key}'s owner ${spec.owner} is not a declared role`);
    const database = new postgresql.Database(
      `database-${spec.key}`,
      {
        name: spec.name,
        owner: owner.role.name,
        // As local provisioning creates them: UTF8 from template0, the server's locale.
        encoding: "UTF8",
        template: "template0",
      },
      // retainOnDelete as well as protect: even after someone lifts the
      // protection, removing the resource leaves the data on the server.
      { provider, protect, retainOnDelete: protect },
    );
    const extensions = spec.extensions.map(
      (name) =>
        new postgresql.Extension(`extension-${spec.key}-${name}`, { name, database: database.name }, { provider, protect }),
    );
    declared.set(spec.key, { spec, database, extensions });
  }
  return declared;
}
