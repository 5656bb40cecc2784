/**
 * Grants one after another. PostgreSQL keeps a database's privileges in one
 * catalog row, and two grants updating it at once fail with "tuple
 * concurrently updated"; Pulumi runs independent resources in parallel, so
 * each grant waits for the one declared before it.
 */
import * as postgresql from "@pulumi/postgresql";
import type * as pulumi from "@pulumi/pulumi";

export type DeclareGrant = (name: string, args: postgresql.GrantArgs) => postgresql.Grant;

export function serialGrants(provider: postgresql.Provider, after: pulumi.Resource[] = []): DeclareGrant {
  let previous: pulumi.Resource[] = after;
  return (name, args) => {
    const grant = new postgresql.Grant(name, args, { provider, dependsOn: previous });
    previous = [grant];
    return grant;
  };
}
