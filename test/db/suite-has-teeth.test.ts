/**
 * The isolation suite must fail when isolation is weakened. For every policy
 * and every FORCE on a per-user table (read from the catalog, so new tables
 * are covered), this drops it inside a transaction, runs that database's pgTAP
 * files in the same transaction, and expects at least one assertion to fail.
 * Everything is rolled back afterwards.
 *
 * A mutation is proven caught at its first failing file, so the files that
 * name the mutated table most run first and the rest only while those stay
 * green: every mutation still runs files until one fails, or all of them.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { databaseSpec, type DatabaseKey } from "../../src/topology.ts";
import { connect } from "../support/connect.ts";
import { pgtapFiles, runPgtapFile, type PgtapFile } from "../support/pgtap-runner.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();
const schemas = { platform: databaseSpec("platform"), userData: databaseSpec("userData") } satisfies Record<DatabaseKey, { schema: string; folder: string }>;

interface Mutation {
  key: DatabaseKey;
  label: string;
  sql: string;
  /** The mutated table: files that name it are the likeliest to notice. */
  table: string;
}

async function mutationsOf(key: DatabaseKey): Promise<Mutation[]> {
  return connect(deployment.adminUrlFor(key), async (client) => {
    const { schema } = schemas[key];
    const { rows } = await client.query<{ label: string; sql: string; table: string }>(
      `select format('drop policy %s on %s', p.polname, c.relname) as label,
              format('drop policy %I on %I.%I', p.polname, n.nspname, c.relname) as sql, c.relname as table
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1
       union all
       select format('no force row level security on %s', c.relname),
              format('alter table %I.%I no force row level security', n.nspname, c.relname), c.relname
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relforcerowsecurity
       order by 1`,
      [schema],
    );
    return rows.map((r) => ({ key, ...r }));
  });
}

const mutations = [...(await mutationsOf("platform")), ...(await mutationsOf("userData"))];

test("there are policies and forced tables to remove in both databases", () => {
  expect(mutations.filter((m) => m.key === "platform").length).toBeGreaterThan(3);
  expect(mutations.filter((m) => m.key === "userData").length).toBeGreaterThan(3);
});

const files = Object.fromEntries(
  (["platform", "userData"] as const).map((key) => [
    key,
    pgtapFiles(deployment.topology)
      .filter((f) => f.key === key)
      .map((f) => ({ ...f, text: readFileSync(f.path, "utf8") })),
  ]),
) as Record<DatabaseKey, Array<PgtapFile & { text: string }>>;

/**
 * Runs a database's pgTAP files after `prelude`, those that name `table` most
 * often first (a catalog file names every table once; the file exercising the
 * table names it throughout); with `firstOnly`, stops after the first file
 * that reports a failure. Returns the failures reported.
 */
async function failuresAfter(key: DatabaseKey, prelude: string, options: { table?: string; firstOnly?: boolean } = {}): Promise<string[]> {
  const mentions = (f: { text: string }) => (options.table ? (f.text.match(new RegExp(`\\b${options.table}\\b`, "g")) ?? []).length : 0);
  const ordered = [...files[key]].sort((a, b) => mentions(b) - mentions(a) || a.label.localeCompare(b.label));
  const caught: string[] = [];
  for (const file of ordered) {
    const report = await runPgtapFile(deployment.adminUrlFor(key), file.path, file.placeholders, prelude);
    if (report.error) caught.push(`${file.label}: ${report.error}`);
    for (const a of report.assertions) if (!a.ok && a.directive !== "TODO") caught.push(`${file.label}: ${a.description}`);
    if (options.firstOnly && caught.length > 0) break;
  }
  return caught;
}

test.each(["platform", "userData"] as const)("control: a harmless prelude leaves the %s suite green", async (key) => {
  expect(await failuresAfter(key, "select 1")).toEqual([]);
});

test.each(mutations.map((m) => [`${m.key}: ${m.label}`, m] as const))("%s makes the pgTAP suite fail", async (_, mutation) => {
  const caught = await failuresAfter(mutation.key, mutation.sql, { table: mutation.table, firstOnly: true });
  expect(caught, "no assertion noticed the change").not.toEqual([]);
});
