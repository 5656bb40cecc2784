/**
 * verifyRowLevelSecurity: the policies live in the migrations; this checks,
 * from the catalog, that every per-user table still has row-level security
 * enabled and forced, and a policy for every command each API role may run
 * on it. A per-user table is one whose rows belong to a user: it has a
 * user_id column, or another table's user_id references it (platform.users).
 * Partitions are left to their parent: rows are reached through it, under its
 * policies (pgTAP checks that partitions are granted to nobody and force RLS).
 */
import { MISSING_TABLES, type ExpectedSchema } from "./expected-schema.ts";
import type { Session } from "./session.ts";

export interface RlsFindings {
  /** The per-user tables checked, schema-qualified. */
  readonly tables: readonly string[];
  /** "<table>: <what is missing>", one per problem. */
  readonly problems: readonly string[];
}

export class RowLevelSecurityError extends Error {
  override name = "RowLevelSecurityError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`row-level security check failed: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

const PER_USER_TABLES = `
  select c.oid, format('%I.%I', n.nspname, c.relname) as table_name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p') and not c.relispartition
     and n.nspname not in ('pg_catalog', 'information_schema', 'graphile_migrate') and n.nspname !~ '^pg_'
     and ($2::text[] is null or n.nspname = any ($2::text[]))
     and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped)
          or exists (select 1 from pg_constraint fk
                       join pg_attribute a on a.attrelid = fk.conrelid and a.attnum = any (fk.conkey)
                      where fk.contype = 'f' and fk.confrelid = c.oid and a.attname = 'user_id'))`;

// A command is covered for a role when a permissive policy for that command (or ALL)
// names the role, a role it belongs to, or PUBLIC.
const FINDINGS = `
  with per_user as (${PER_USER_TABLES}),
  api_roles as (select rolname from pg_roles where rolname = any ($1::text[])),
  commands (cmd, polcmd) as (values ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd'))
  select table_name, null as problem from per_user
  union all
  select table_name, 'row-level security is not enabled' from per_user where not enabled
  union all
  select table_name, 'row-level security is not forced (the table owner bypasses it)' from per_user where not forced
  union all
  select t.table_name, format('%s may %s but no policy covers %s for it', r.rolname, c.cmd, c.cmd)
    from per_user t cross join api_roles r cross join commands c
   where case when c.cmd = 'delete' then has_table_privilege(r.rolname, t.oid, c.cmd)
              else has_any_column_privilege(r.rolname, t.oid, c.cmd) end
     and not exists (
       select 1 from pg_policy p
        where p.polrelid = t.oid and p.polpermissive and p.polcmd in ('*', c.polcmd)
          and (0 = any (p.polroles) or exists (select 1 from unnest(p.polroles) as pr (oid) where pg_has_role(r.rolname, pr.oid, 'member'))))
   order by 1, 2 nulls first`;

/**
 * Reads the findings through `session`; `apiRoles` are the roles the API switches to. With
 * `expected` (the database's schema dump), only its schemas are checked, and each of its tables
 * that does not exist is a problem: an empty or foreign database cannot pass with nothing checked.
 */
export async function findRlsProblems(session: Session, apiRoles: readonly string[], expected?: ExpectedSchema): Promise<RlsFindings> {
  const { rows } = await session.query<{ table_name: string; problem: string | null }>(FINDINGS, [apiRoles, expected ? expected.schemas : null]);
  const missing = expected ? (await session.query<{ table_name: string }>(MISSING_TABLES, [expected.tables])).rows : [];
  return {
    tables: rows.filter((r) => r.problem === null).map((r) => r.table_name),
    problems: [
      ...missing.map((r) => `${r.table_name}: the table does not exist (the database's migrations have not made it here)`),
      ...rows.filter((r) => r.problem !== null).map((r) => `${r.table_name}: ${r.problem}`),
    ],
  };
}
