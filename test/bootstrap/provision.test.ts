/**
 * Local provisioning creates exactly what the topology spec describes, converges
 * a drifted server back to it, and can remove it all again. It runs against the
 * test deployment's server under a prefix of its own.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deprovision, provision } from "../../src/bootstrap/provision.ts";
import { resolveTopology } from "../../src/topology.ts";
import { testDeployment } from "../support/test-deployment.ts";

const { adminUrl } = testDeployment();
const topology = resolveTopology(`p${randomBytes(3).toString("hex")}`);
const passwords = { owner: "owner-pw", authenticator: "authenticator-pw" };
const admin = new pg.Client({ connectionString: adminUrl });

async function rolesOnServer() {
  const { rows } = await admin.query(
    `select r.rolname as name, r.rolcanlogin as login, r.rolinherit as inherit, r.rolbypassrls as "bypassRls",
            r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolreplication as elevated,
            coalesce((select array_agg(g.rolname::text order by g.rolname) from pg_auth_members m join pg_roles g on g.oid = m.roleid
                       where m.member = r.oid), '{}'::text[]) as "memberOf",
            (select s.setconfig from pg_db_role_setting s where s.setrole = r.oid and s.setdatabase = 0) as settings
       from pg_roles r where r.rolname like $1 || '\\_%' order by r.rolname`,
    [topology.prefix],
  );
  return rows;
}

function expectedRoles() {
  return topology.roles
    .map((r) => ({
      name: r.name,
      login: r.login,
      inherit: r.inherit,
      bypassRls: r.bypassRls,
      elevated: false,
      memberOf: [...r.memberOfNames].sort(),
      settings: r.statementTimeoutMs === undefined ? null : [`statement_timeout=${r.statementTimeoutMs}`],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function databasesOnServer() {
  const { rows } = await admin.query(
    `select d.datname as name, pg_get_userbyid(d.datdba) as owner,
            array(select grantee.rolname::text from pg_roles grantee
                   where has_database_privilege(grantee.oid, d.oid, 'CONNECT') and not grantee.rolsuper
                   order by grantee.rolname) as "canConnect",
            has_database_privilege('public', d.oid, 'CONNECT') as "publicCanConnect"
       from pg_database d where d.datname like $1 || '\\_%' order by d.datname`,
    [topology.prefix],
  );
  return rows;
}

beforeAll(async () => {
  await admin.connect();
  await provision(adminUrl, topology, passwords);
});

afterAll(async () => {
  await deprovision(adminUrl, topology);
  await admin.end();
});

describe("provision", () => {
  test("creates every role of the spec with its attributes, memberships and settings, and nothing more", async () => {
    expect(await rolesOnServer()).toEqual(expectedRoles());
  });

  test("creates both databases, owned by the owner, that only the spec's logins may connect to", async () => {
    const dbs = await databasesOnServer();
    expect(dbs).toEqual(
      topology.databases
        .map((d) => ({
          name: d.name,
          owner: d.ownerName,
          canConnect: [...d.connectNames].sort(),
          publicCanConnect: false,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  test("the login roles can log in with their passwords", async () => {
    for (const [key, password] of [["owner", passwords.owner], ["authenticator", passwords.authenticator]] as const) {
      const url = new URL(adminUrl);
      url.username = topology.role(key).name;
      url.password = password;
      url.pathname = `/${topology.database("platform").name}`;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      const { rows } = await client.query("select current_user as me");
      await client.end();
      expect(rows[0].me).toBe(topology.role(key).name);
    }
  });

  test("is idempotent and converges a drifted server back to the spec", async () => {
    const authenticated = topology.role("authenticated").name;
    const owner = topology.role("owner").name;
    await admin.query(`alter role ${authenticated} with login bypassrls`);
    await admin.query(`grant ${authenticated} to ${owner}`);
    await admin.query(`revoke ${topology.role("anonymous").name} from ${topology.role("authenticator").name}`);
    await admin.query(`grant connect on database ${topology.database("userData").name} to public`);
    expect(await rolesOnServer()).not.toEqual(expectedRoles());

    await provision(adminUrl, topology, passwords);
    await provision(adminUrl, topology, passwords);
    expect(await rolesOnServer()).toEqual(expectedRoles());
    expect((await databasesOnServer()).every((d) => !d.publicCanConnect)).toBe(true);
  });
});

test("deprovision removes the databases and roles of a topology", async () => {
  const other = resolveTopology(`q${randomBytes(3).toString("hex")}`);
  await provision(adminUrl, other, passwords);
  await deprovision(adminUrl, other);
  const { rows } = await admin.query(
    "select (select count(*) from pg_roles where rolname like $1 || '\\_%')::int as roles, (select count(*) from pg_database where datname like $1 || '\\_%')::int as dbs",
    [other.prefix],
  );
  expect(rows[0]).toEqual({ roles: 0, dbs: 0 });
});
