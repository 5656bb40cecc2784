/**
 * Makes the pgTAP extension available to a test database. pgTAP is not on npm:
 * its files come from Debian's postgresql-NN-pgtap package. For the embedded
 * server they are copied into the server's own extension folder (pgTAP is
 * plain SQL, so files built for another major version load too).
 */
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { embeddedInstallDir } from "../../src/bootstrap/embedded-server.ts";

const DEBIAN_SHARE = "/usr/share/postgresql";
const MISSING = "pgTAP is not installed: install Debian's package with `apt-get install postgresql-15-pgtap` (the tests need its SQL files)";

/** The Debian extension folder that holds pgtap.control, newest PostgreSQL first. */
function debianPgtapDir(): string | undefined {
  if (!existsSync(DEBIAN_SHARE)) return undefined;
  return readdirSync(DEBIAN_SHARE)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(DEBIAN_SHARE, v, "extension"))
    .find((dir) => existsSync(path.join(dir, "pgtap.control")));
}

/** Copies pgTAP's control and SQL files into the embedded server's extension folder. */
export function installPgtapIntoEmbedded(): void {
  const target = path.join(embeddedInstallDir(), "share", "postgresql", "extension");
  if (existsSync(path.join(target, "pgtap.control"))) return;
  const source = debianPgtapDir();
  if (!source) throw new Error(MISSING);
  for (const file of readdirSync(source).filter((f) => f.startsWith("pgtap"))) {
    copyFileSync(path.join(source, file), path.join(target, file));
  }
}

/** Creates pgTAP in schema `tap` of the database at `adminDbUrl` (a superuser login). */
export async function createPgtapExtension(adminDbUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminDbUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_available_extensions where name = 'pgtap'");
    if (!rowCount) throw new Error(`${MISSING}; the server at hand does not offer it`);
    await client.query(`
      create schema if not exists tap;
      create extension if not exists pgtap schema tap;
      grant usage on schema tap to public;
      grant execute on all functions in schema tap to public;
    `);
  } finally {
    await client.end();
  }
}
