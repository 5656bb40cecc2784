/**
 * Local provisioning: makes a PostgreSQL server hold exactly what the topology
 * spec describes (roles with their attributes and memberships, the two
 * databases with their owner, CONNECT rights and extensions). Idempotent: run it on every
 * start; it converges an existing server instead of failing on it. Schema
 * objects are not created here; migrations own those.
 */
import pg from "pg";
import type { Topology } from "../topology.ts";

export interface LoginPasswords {
  owner: string;
  authenticator: string;
}

type Exec = (sql: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** Another run is provisioning the same deployment on the same server right now. */
export class ProvisioningBusyError extends Error {
  override name = "ProvisioningBusyError";
}

export async function provision(adminUrl: string, topology: Topology, passwords: LoginPasswords): Promise<void> {
  await withClient(adminUrl, async (exec) => {
    await takeProvisioningLock(exec, topology);
    await provisionRoles(exec, topology, passwords);
    await provisionDatabases(exec, topology);
    await provisionExtensions(adminUrl, topology);
  });
}

/**
 * Provisioning runs one at a time per deployment (prefix) and server: a
 * session-level advisory lock in the maintenance database, held until this
 * run's connection closes. A second run does not wait for the first: it
 * would then give the login roles new passwords under the first run's feet
 * (see docs/configuration.md, DATABASE_ADMIN_URL), so it stops and says why.
 */
async function takeProvisioningLock(exec: Exec, topology: Topology): Promise<void> {
  const { rows } = await exec("select pg_try_advisory_lock(hashtext('alwrity provisioning'), hashtext($1)) as locked", [topology.prefix]);
  if (!rows[0].locked) {
    throw new ProvisioningBusyError(
      `another run is provisioning this deployment${topology.prefix ? ` (prefix ${topology.prefix})` : ""} on the same server right now; let it finish, then run again`,
    );
  }
}

/** Drops the databases (and their graphile-migrate shadows) and roles of a topology. */
export async function deprovision(adminUrl: string, topology: Topology): Promise<void> {
  await withClient(adminUrl, async (exec) => {
    for (const db of topology.databases) {
      for (const name of [db.name, `${db.name}_shadow`]) {
        await exec(await formatSql(exec, "drop database if exists %I with (force)", name));
      }
    }
    for (const role of [...topology.roles].reverse()) {
      await exec(await formatSql(exec, "drop role if exists %I", role.name));
    }
  });
}

async function withClient(url: string, fn: (exec: Exec) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn((sql, values) => client.query(sql, values));
  } finally {
    await client.end();
  }
}

/** Quotes identifiers and literals on the server, with format()'s %I and %L. */
async function formatSql(exec: Exec, template: string, ...args: string[]): Promise<string> {
  const params = args.map((_, i) => `$${i + 1}::text`).join(", ");
  const { rows } = await exec(`select format($${args.length + 1}::text${params ? ", " + params : ""}) as sql`, [...args, template]);
  return rows[0].sql as string;
}

async function provisionRoles(exec: Exec, topology: Topology, passwords: LoginPasswords): Promise<void> {
  for (const role of topology.roles) {
    const attributes = [
      role.login ? "login" : "nologin",
      role.inherit ? "inherit" : "noinherit",
      role.bypassRls ? "bypassrls" : "nobypassrls",
      "nosuperuser nocreatedb nocreaterole noreplication",
    ].join(" ");
    const password = role.key === "owner" ? passwords.owner : role.key === "authenticator" ? passwords.authenticator : null;
    const { rowCount } = await exec("select 1 from pg_roles where rolname = $1", [role.name]);
    const verb = rowCount ? "alter" : "create";
    const sql = password
      ? await formatSql(exec, `${verb} role %I with ${attributes} password %L`, role.name, password)
      : await formatSql(exec, `${verb} role %I with ${attributes}${rowCount ? " password null" : ""}`, role.name);
    await exec(sql);
    await exec(
      role.statementTimeoutMs === undefined
        ? await formatSql(exec, "alter role %I reset statement_timeout", role.name)
        : await formatSql(exec, "alter role %I set statement_timeout = %L", role.name, String(role.statementTimeoutMs)),
    );
  }

  // Memberships among the topology's roles: grant what the spec says, revoke anything else.
  const names = topology.roles.map((r) => r.name);
  const { rows: existing } = await exec(
    `select m.rolname as member, g.rolname as granted
       from pg_auth_members am
       join pg_roles m on m.oid = am.member
       join pg_roles g on g.oid = am.roleid
      where m.rolname = any($1) and g.rolname = any($1)`,
    [names],
  );
  const wanted = new Set(topology.roles.flatMap((r) => r.memberOfNames.map((g) => `${r.name}\u0000${g}`)));
  for (const { member, granted } of existing as { member: string; granted: string }[]) {
    if (!wanted.has(`${member}\u0000${granted}`)) await exec(await formatSql(exec, "revoke %I from %I", granted, member));
  }
  const have = new Set((existing as { member: string; granted: string }[]).map((e) => `${e.member}\u0000${e.granted}`));
  for (const role of topology.roles) {
    for (const granted of role.memberOfNames) {
      if (!have.has(`${role.name}\u0000${granted}`)) await exec(await formatSql(exec, "grant %I to %I", granted, role.name));
    }
  }
}

async function provisionDatabases(exec: Exec, topology: Topology): Promise<void> {
  for (const db of topology.databases) {
    const { rowCount } = await exec("select 1 from pg_database where datname = $1", [db.name]);
    if (!rowCount) {
      await exec(await formatSql(exec, "create database %I with owner %I encoding 'UTF8' template template0", db.name, db.ownerName));
    } else {
      await exec(await formatSql(exec, "alter database %I owner to %I", db.name, db.ownerName));
    }
    // Only the login roles the spec names may connect; nobody gets TEMPORARY by default.
    await exec(await formatSql(exec, "revoke all on database %I from public", db.name));
    for (const login of db.connectNames) {
      await exec(await formatSql(exec, "grant connect on database %I to %I", db.name, login));
    }
  }
}

/** Extensions live inside a database, so each database with some gets its own connection. */
async function provisionExtensions(adminUrl: string, topology: Topology): Promise<void> {
  for (const db of topology.databases) {
    if (db.extensions.length === 0) continue;
    const url = new URL(adminUrl);
    url.pathname = `/${encodeURIComponent(db.name)}`;
    await withClient(url.toString(), async (exec) => {
      for (const extension of db.extensions) {
        await exec(await formatSql(exec, "create extension if not exists %I", extension));
      }
    });
  }
}
