/**
 * The pgTAP files' way of acting as someone: schema `tests`, installed next to
 * pgTAP (pgtap.ts) by the test setup only.
 *
 *   select tests.become('11111111-1111-4111-8111-111111111111');  -- a signed-in user
 *   select tests.act_as('anonymous');      -- or platformAdmin, anyUser, worker, login
 *
 * Both set the role and app.current_user_id transaction-locally, to exactly
 * what src/db/asking.ts's transactionSettings gives for that kind of caller:
 * the functions' bodies are written from it here, so a pgTAP file acts as the
 * API and the services do, and a change to the rule reaches the tests. Each
 * first returns to the session's login (role none), so any switch may follow
 * any other; act_as('login') is the way back.
 */
import { transactionSettings, type Asking } from "../../src/db/asking.ts";
import type { Topology } from "../../src/topology.ts";

/** Every kind of caller but a user, whose settings need no id. */
const KINDS = ["anonymous", "platformAdmin", "anyUser", "worker", "login"] as const satisfies ReadonlyArray<Exclude<Asking["kind"], "user">>;

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** The SQL that creates schema `tests` and its functions (run as a superuser, inside the setup's transaction). */
export function testHelpersSql(topology: Topology): string {
  // The user's role does not depend on which user: any well-formed id gives it.
  const userRole = transactionSettings({ kind: "user", userId: "00000000-0000-4000-8000-000000000000" }, topology).role;
  const cases = KINDS.map((kind) => {
    const s = transactionSettings({ kind } as Asking, topology);
    return `    when ${literal(kind)} then perform set_config('role', ${literal(s.role)}, true), set_config('app.current_user_id', ${literal(s["app.current_user_id"])}, true);`;
  }).join("\n");
  return `
create schema tests;
comment on schema tests is 'Test-only helpers (test/support/test-helpers.ts), installed by the test setup, never by a migration.';

create function tests.become(user_id uuid) returns void language plpgsql as $fn$
begin
  if user_id is null then
    raise exception 'tests.become needs a user id; for a signed-in session without one use tests.act_as(''anyUser'')';
  end if;
  perform set_config('role', 'none', true);
  perform set_config('role', ${literal(userRole)}, true), set_config('app.current_user_id', user_id::text, true);
end
$fn$;
comment on function tests.become(uuid) is 'Acts as the signed-in user user_id until the transaction ends: the role and app.current_user_id, as src/db/asking.ts sets them.';

create function tests.act_as(kind text) returns void language plpgsql as $fn$
begin
  perform set_config('role', 'none', true);
  case kind
${cases}
    else raise exception 'tests.act_as: unknown kind of caller %, expected one of ${KINDS.join(", ")}', kind;
  end case;
end
$fn$;
comment on function tests.act_as(text) is 'Acts as a kind of caller that is not a user (src/db/asking.ts) until the transaction ends; login returns to the session''s own role.';

grant usage on schema tests to public;
grant execute on all functions in schema tests to public;
`;
}
