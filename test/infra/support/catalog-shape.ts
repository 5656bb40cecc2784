/**
 * One shape for "what a server holds" so the Pulumi program and a real
 * server can be compared: the roles (attributes, password or not,
 * memberships, settings) and databases (owner, encoding, privileges,
 * extensions) under a prefix. `declaredShape` derives it from the program's
 * mocked resources, applying the provider's defaults and its grant semantics;
 * `catalogShape` reads it from the server's catalog.
 */
import pg from "pg";
import { TYPES, type RecordedResource } from "./run-program.ts";

export interface RoleShape {
  name: string;
  login: boolean;
  inherit: boolean;
  bypassRls: boolean;
  superuser: boolean;
  createDb: boolean;
  createRole: boolean;
  replication: boolean;
  connectionLimit: number;
  hasPassword: boolean;
  memberOf: string[];
  /** Server-wide role settings, as `name=value`. */
  settings: string[];
}

export interface DatabaseShape {
  name: string;
  owner: string;
  encoding: string;
  /** `grantee:PRIVILEGE` (`*` when grantable), PUBLIC included. */
  privileges: string[];
  extensions: string[];
}

export interface Shape {
  roles: RoleShape[];
  databases: DatabaseShape[];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Role inputs this translation understands; any other would be compared wrongly, so it fails instead. */
const ROLE_INPUTS = new Set([
  "name", "login", "password", "inherit", "superuser", "createDatabase", "createRole", "replication",
  "bypassRowLevelSecurity", "connectionLimit", "roles", "statementTimeout",
]);

/** What PostgreSQL gives a new database: its owner every privilege, PUBLIC CONNECT and TEMPORARY. */
const OWNER_DEFAULT = ["CONNECT", "CREATE", "TEMPORARY"];
const PUBLIC_DEFAULT = ["CONNECT", "TEMPORARY"];

export function declaredShape(resources: readonly RecordedResource[]): Shape {
  const of = (type: string) => resources.filter((r) => r.type === type);
  const memberships = new Map<string, string[]>();
  for (const { inputs } of of(TYPES.grantRole)) {
    memberships.set(inputs.role, [...(memberships.get(inputs.role) ?? []), inputs.grantRole]);
  }

  const roles = of(TYPES.role).map(({ name, inputs }): RoleShape => {
    const unknown = Object.keys(inputs).filter((key) => !ROLE_INPUTS.has(key));
    if (unknown.length > 0) throw new Error(`Role ${name} sets ${unknown.join(", ")}: translate it in catalog-shape.ts first`);
    // The provider's defaults, for inputs the program leaves out.
    const timeout = Number(inputs.statementTimeout ?? 0);
    return {
      name: inputs.name,
      login: inputs.login ?? false,
      inherit: inputs.inherit ?? true,
      bypassRls: inputs.bypassRowLevelSecurity ?? false,
      superuser: inputs.superuser ?? false,
      createDb: inputs.createDatabase ?? false,
      createRole: inputs.createRole ?? false,
      replication: inputs.replication ?? false,
      connectionLimit: inputs.connectionLimit ?? -1,
      hasPassword: typeof inputs.password === "string" && inputs.password !== "",
      memberOf: [...(inputs.roles ?? []), ...(memberships.get(inputs.name) ?? [])].sort(),
      // A statement timeout of 0 makes the provider reset the setting.
      settings: timeout > 0 ? [`statement_timeout=${timeout}`] : [],
    };
  });

  const databases = of(TYPES.database).map(({ inputs }): DatabaseShape => {
    const acl = new Map<string, string[]>([
      [inputs.owner, OWNER_DEFAULT],
      ["PUBLIC", PUBLIC_DEFAULT],
    ]);
    for (const grant of of(TYPES.grant).filter((g) => g.inputs.database === inputs.name)) {
      if (grant.inputs.objectType !== "database") throw new Error(`${grant.name}: only database grants are translated`);
      const grantee = String(grant.inputs.role).toLowerCase() === "public" ? "PUBLIC" : grant.inputs.role;
      // The provider revokes everything the role holds, then grants the listed privileges.
      acl.set(grantee, (grant.inputs.privileges as string[]).map((p) => p.toUpperCase() + (grant.inputs.withGrantOption ? "*" : "")));
    }
    return {
      name: inputs.name,
      owner: inputs.owner,
      encoding: inputs.encoding ?? "UTF8",
      privileges: [...acl].flatMap(([grantee, privileges]) => privileges.map((p) => `${grantee}:${p}`)).sort(),
      extensions: of(TYPES.extension)
        .filter((e) => e.inputs.database === inputs.name)
        .map((e) => e.inputs.name as string)
        .sort(),
    };
  });

  return { roles: roles.sort(byName), databases: databases.sort(byName) };
}

/** What the server at adminUrl (a superuser login) holds under `<prefix>_`. */
export async function catalogShape(adminUrl: string, prefix: string): Promise<Shape> {
  const pattern = `${prefix.replace(/_/g, "\\_")}\\_%`;
  const rows = await query(adminUrl, async (client) => {
    const roles = await client.query<RoleShape>(
      `select a.rolname as name, a.rolcanlogin as login, a.rolinherit as inherit, a.rolbypassrls as "bypassRls",
              a.rolsuper as superuser, a.rolcreatedb as "createDb", a.rolcreaterole as "createRole",
              a.rolreplication as replication, a.rolconnlimit as "connectionLimit", a.rolpassword is not null as "hasPassword",
              array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
                     where m.member = a.oid order by 1) as "memberOf",
              array(select unnest(s.setconfig) from pg_db_role_setting s
                     where s.setrole = a.oid and s.setdatabase = 0 order by 1) as settings
         from pg_authid a where a.rolname like $1 order by a.rolname`,
      [pattern],
    );
    const databases = await client.query<Omit<DatabaseShape, "extensions">>(
      `select d.datname as name, pg_get_userbyid(d.datdba) as owner, pg_encoding_to_char(d.encoding) as encoding,
              array(select case when acl.grantee = 0 then 'PUBLIC' else pg_get_userbyid(acl.grantee) end
                           || ':' || acl.privilege_type || case when acl.is_grantable then '*' else '' end
                      from aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) acl order by 1) as privileges
         from pg_database d where d.datname like $1 order by d.datname`,
      [pattern],
    );
    return { roles: roles.rows, databases: databases.rows };
  });
  const databases: DatabaseShape[] = [];
  for (const db of rows.databases) {
    const url = new URL(adminUrl);
    url.pathname = `/${encodeURIComponent(db.name)}`;
    // plpgsql comes with every database; only extensions someone created count.
    const extensions = await query(url.toString(), async (client) =>
      (await client.query<{ extname: string }>("select extname from pg_extension where extname <> 'plpgsql' order by 1")).rows.map((r) => r.extname),
    );
    databases.push({ ...db, privileges: [...db.privileges].sort(), extensions: extensions.sort() });
  }
  // The server sorts by its collation; compare in one order.
  const roles = rows.roles.map((r) => ({ ...r, memberOf: [...r.memberOf].sort(), settings: [...r.settings].sort() }));
  return { roles: roles.sort(byName), databases: databases.sort(byName) };
}

async function query<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
