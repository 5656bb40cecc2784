/**
 * Rules about the schema as it stands after all migrations, read from each
 * database's catalog: API naming lives in the tags files, not in comments;
 * what only backend services call lives outside the schema the API
 * introspects; every SECURITY DEFINER function pins its search_path with
 * pg_temp last.
 */
import type pg from "pg";
import { describe, expect, test } from "vitest";
import { DATABASE_SPECS, type DatabaseKey } from "../../src/topology.ts";
import { fileClient } from "../support/connect.ts";
import { testDeployment } from "../support/test-deployment.ts";

const deployment = testDeployment();
const admins = Object.fromEntries(DATABASE_SPECS.map((spec) => [spec.key, fileClient(() => deployment.adminUrlFor(spec.key))])) as Record<DatabaseKey, () => pg.Client>;

const OWN_SCHEMAS = "n.nspname not in ('pg_catalog', 'information_schema', 'graphile_migrate', 'graphile_worker') and n.nspname !~ '^pg_'";

describe.each(DATABASE_SPECS.map((d) => [d.key, d]))("%s", (key, spec) => {
  test("no comment carries a smart tag (they live in db/<database>/postgraphile.tags.json5)", async () => {
    const { rows } = await admins[key]().query(
      `select d.classoid::regclass::text as catalog, d.objoid, d.objsubid, d.description
         from pg_description d
        where d.description ~ '(^|\\n)@[a-zA-Z]'
          and d.objoid not in (select oid from pg_namespace where nspname = 'pg_catalog')`,
    );
    expect(rows).toEqual([]);
  });

  test("every SECURITY DEFINER function sets search_path = pg_catalog, pg_temp", async () => {
    const { rows } = await admins[key]().query(
      `select p.oid::regprocedure::text as function, p.proconfig
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and ${OWN_SCHEMAS}
          and not coalesce('search_path=pg_catalog, pg_temp' = any (p.proconfig), false)`,
    );
    expect(rows).toEqual([]);
  });

  test(`the API's schema (${spec.schema}) holds no function only the platform admin may run`, async () => {
    const roles = deployment.topology;
    const { rows } = await admins[key]().query(
      `select p.oid::regprocedure::text as function
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = $1 and p.prokind = 'f'
          and has_function_privilege($2, p.oid, 'execute')
          and not has_function_privilege($3, p.oid, 'execute')
          and not has_function_privilege($4, p.oid, 'execute')`,
      [spec.schema, roles.role("platformAdmin").name, roles.role("authenticated").name, roles.role("anonymous").name],
    );
    expect(rows).toEqual([]);
  });
});

test("the backend functions are in platform_backend, where only the platform admin may use them", async () => {
  const { rows } = await admins.platform().query(
    `select p.proname, has_schema_privilege($1, n.oid, 'usage') as admin, has_schema_privilege($2, n.oid, 'usage') as user_
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'platform_backend' order by 1`,
    [deployment.topology.role("platformAdmin").name, deployment.topology.role("authenticated").name],
  );
  expect(rows).toEqual(
    [
      "apply_plan_change",
      "apply_stripe_checkout",
      "apply_stripe_invoice",
      "apply_stripe_subscription",
      "begin_account_erasure",
      "change_plan",
      "change_subscription",
      "complete_account_erasure",
      "detach_usage_partitions",
      "ensure_usage_partitions",
      "entitlements_of",
      "expire_idempotency_keys",
      "link_stripe_customer",
      "plan_limits",
      "record_audit_event",
      "record_entitlement_sync",
      "record_usage",
      "register_user",
      "rename_from_clerk",
      "request_account_deletion",
    ].map((proname) => ({ proname, admin: true, user_: false })),
  );
});
