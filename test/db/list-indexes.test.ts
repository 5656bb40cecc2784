/**
 * Every column the API lets a user filter or order a list by (PostGraphile
 * offers exactly the indexed columns) is served by an index that leads with
 * user_id (the condition row-level security adds to every query) and has the
 * column right after it. Asked as a signed-in user, with sequential scans and
 * sorts priced out (enable_seqscan, enable_sort off), no filter plans a
 * sequential scan and no ordering needs a sort. A column that only some index
 * mentions, but none can serve, fails here.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { DATABASE_SPECS, type DatabaseKey } from "../../src/topology.ts";
import { connect } from "../support/connect.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { withUserDb } from "../support/with-user-db.ts";

const deployment = testDeployment();
const SOME_USER = "3c9a7b1e-5d2f-4e8a-9b0c-1d2e3f4a5b6c";

interface Listable {
  table: string;
  column: string;
  /** A literal of the column's type, for the filter. */
  literal: string;
  /** Whether an index has (user_id, column, ...) or (column, ...) as its first keys. */
  served: boolean;
}

/** Per-user tables' columns that appear in a non-partial index: what PostGraphile makes filterable and orderable. */
const LISTABLE = `
  select distinct format('%I.%I', n.nspname, c.relname) as "table", a.attname as "column",
         case when t.typtype = 'e' then format('%L::%s', (select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder limit 1), format_type(a.atttypid, null))
              when a.atttypid = 'boolean'::regtype then 'true'
              when a.atttypid = 'uuid'::regtype then '''00000000-0000-4000-8000-000000000000''::uuid'
              when a.atttypid in ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) then 'now()'
              when a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype) then '1'
              else format('''x''::%s', format_type(a.atttypid, a.atttypmod)) end as literal,
         exists (select 1 from pg_index y
                  where y.indrelid = c.oid and y.indpred is null
                    and (y.indkey[0] = a.attnum
                         or (y.indkey[0] = (select u.attnum from pg_attribute u where u.attrelid = c.oid and u.attname = 'user_id') and y.indkey[1] = a.attnum))) as served
    from pg_index x
    join pg_class c on c.oid = x.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum = any (x.indkey)
    join pg_type t on t.oid = a.atttypid
   where n.nspname = $1 and x.indpred is null and a.attname <> 'user_id'
     and exists (select 1 from pg_attribute u where u.attrelid = c.oid and u.attname = 'user_id')
   order by 1, 2`;

/** The plans of `sqls` as a signed-in user, with sequential scans and sorts priced out (one transaction for all). */
function plansOf(key: DatabaseKey, sqls: string[]): Promise<string[]> {
  const asking = { kind: "user", userId: SOME_USER } as const;
  return withUserDb(deployment.adminUrlFor(key), deployment.topology, asking, async (client) => {
    const plans: string[] = [];
    for (const sql of sqls) plans.push((await client.query(`explain (costs off) ${sql}`)).rows.map((r) => r["QUERY PLAN"]).join("\n"));
    return plans;
  }, { settings: { enable_seqscan: "off", enable_sort: "off" } });
}

const listables: Record<string, Listable[]> = {};
beforeAll(async () => {
  for (const spec of DATABASE_SPECS) {
    listables[spec.key] = await connect(deployment.adminUrlFor(spec.key), async (c) => (await c.query<Listable>(LISTABLE, [spec.schema])).rows);
  }
});

describe.each(DATABASE_SPECS.map((d) => [d.key, d]))("%s", (key) => {
  test("lists a user reaches for first can be filtered and ordered by name, type, status and date", () => {
    const columns = listables[key]!.map((l) => `${l.table}.${l.column}`);
    if (key === "userData") {
      expect(columns).toEqual(
        expect.arrayContaining([
          "user_data.user_projects.project_name", "user_data.user_projects.project_type", "user_data.user_projects.is_archived",
          "user_data.user_projects.created_at", "user_data.user_projects.updated_at",
          "user_data.user_content_assets.title", "user_data.user_content_assets.asset_type",
          "user_data.user_content_assets.created_at", "user_data.user_content_assets.updated_at",
          "user_data.user_personas.persona_name", "user_data.user_personas.created_at", "user_data.user_personas.updated_at",
        ]),
      );
    }
    expect(columns.length).toBeGreaterThan(0);
  });

  test("each such column has an index that leads with user_id and the column", () => {
    expect(listables[key]!.filter((l) => !l.served).map((l) => `${l.table}.${l.column}`)).toEqual([]);
  });

  test("a filter on each such column never plans a sequential scan", async () => {
    const listed = listables[key]!;
    const plans = await plansOf(key, listed.map(({ table, column, literal }) => `select * from ${table} where ${column} = ${literal}`));
    const problems = listed.flatMap(({ table, column }, i) => (/Seq Scan/.test(plans[i]!) ? [`${table}.${column}:\n${plans[i]}`] : []));
    expect(problems).toEqual([]);
  });

  test("ordering by each such column needs no sort and no sequential scan", async () => {
    const orderings = listables[key]!.flatMap(({ table, column }) => ["asc", "desc"].map((direction) => ({ table, column, direction })));
    const plans = await plansOf(key, orderings.map(({ table, column, direction }) => `select * from ${table} order by ${column} ${direction} limit 20`));
    // A Merge Append of partitions' index scans names a "Sort Key" but sorts nothing.
    const problems = orderings.flatMap(({ table, column, direction }, i) =>
      /Seq Scan|Sort/.test(plans[i]!.replace(/Sort Key:.*$/gm, "")) ? [`${table}.${column} ${direction}:\n${plans[i]}`] : [],
    );
    expect(problems).toEqual([]);
  });
});
