/**
 * The one provider every resource uses. Passing it explicitly (instead of the
 * default provider) keeps the admin credentials in the stack's own
 * configuration and out of ambient PG* environment variables.
 */
import * as postgresql from "@pulumi/postgresql";
import type { StackSettings } from "./settings.ts";

export function adminProvider(settings: StackSettings): postgresql.Provider {
  return new postgresql.Provider("admin", {
    host: settings.host,
    port: settings.port,
    username: settings.adminUser,
    password: settings.adminPassword,
    database: settings.adminDatabase,
    sslmode: settings.sslmode,
    // With false, the provider temporarily grants itself a role it must act as
    // (a database's owner, for instance) instead of relying on superuser rights.
    superuser: settings.superuser,
    // A wrong host should fail in seconds, not after the provider's three-minute default.
    connectTimeout: 15,
  });
}
