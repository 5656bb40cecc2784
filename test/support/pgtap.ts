/**
 * Makes pgTAP available to a test database. pgTAP is not on npm: its SQL comes
 * from Debian's postgresql-NN-pgtap package, the installed one or else one
 * fetched into the project's cache (see src/host/debian-package.ts), so
 * `npm test` needs no manual step. pgTAP is plain SQL, so its install script
 * (pgtap.sql, the non-extension form) is run into schema `tap` directly: the
 * server needs no extension files, which works alike for the embedded server,
 * the machine's PostgreSQL 15 and a managed server.
 *
 * Next to it, schema `tests` holds the test-only helpers pgTAP files use to
 * act as someone (test-helpers.ts): installed here, never by a migration,
 * since production has no use for them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { newestDebianPackage, unpackedDebianPackage } from "../../src/host/debian-package.ts";
import type { Topology } from "../../src/topology.ts";
import { testHelpersSql } from "./test-helpers.ts";

const PURPOSE = "the pgTAP test suites";

/** The newest pgtap.sql below `share` (a usr/share/postgresql folder), if any. */
function pgtapScriptIn(share: string): string | undefined {
  if (!existsSync(share)) return undefined;
  return readdirSync(share)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(share, v, "extension", "pgtap.sql"))
    .find((file) => existsSync(file));
}

/** pgTAP's install script: from an installed Debian package, or fetched once into the cache. */
export function pgtapScriptPath(): string {
  const installed = pgtapScriptIn("/usr/share/postgresql");
  if (installed) return installed;
  const packageName = newestDebianPackage("^postgresql-[0-9]+-pgtap$", PURPOSE, "postgresql-NN-pgtap");
  const fetched = pgtapScriptIn(path.join(unpackedDebianPackage(packageName, PURPOSE), "usr", "share", "postgresql"));
  if (!fetched) throw new Error(`${PURPOSE}: Debian's ${packageName} has no pgtap.sql`);
  return fetched;
}

/** Creates pgTAP's functions in schema `tap`, and the helpers in schema `tests`, in the database at `adminDbUrl` (a superuser login). */
export async function installPgtap(adminDbUrl: string, script: string, topology: Topology): Promise<void> {
  const client = new pg.Client({ connectionString: adminDbUrl });
  await client.connect();
  try {
    await client.query("begin; create schema tap; set local search_path = tap");
    await client.query(readFileSync(script, "utf8"));
    await client.query("grant usage on schema tap to public; grant execute on all functions in schema tap to public");
    await client.query(testHelpersSql(topology));
    await client.query("commit");
  } finally {
    await client.end();
  }
}
