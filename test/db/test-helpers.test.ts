/**
 * The test helpers keep their promises, since every test written with them
 * leans on them: connect() ends its client even when the callback fails;
 * withUserDb acts as the user (role and user id, as the API does) and leaves
 * nothing behind; tests.become / tests.act_as (pgTAP) set the same settings
 * transaction-locally.
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { transactionSettings } from "../../src/db/asking.ts";
import { connect } from "../support/connect.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { withUserDb } from "../support/with-user-db.ts";

const deployment = testDeployment();
const admin = deployment.adminUrlFor("userData");

const sessionsNamed = (name: string) =>
  connect(admin, async (c) => (await c.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where application_name = $1", [name])).rows[0]!.n);

test("connect() ends its client when the callback returns and when it throws", async () => {
  const name = `helpers-${randomUUID().slice(0, 8)}`;
  expect(await connect({ connectionString: admin, application_name: name }, () => sessionsNamed(name))).toBe(1);
  await expect(connect({ connectionString: admin, application_name: name }, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  // The server notices a closed session a moment after the client ends it.
  for (let i = 0; i < 100 && (await sessionsNamed(name)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await sessionsNamed(name)).toBe(0);
});

test("withUserDb acts as the user through the API's login, and rolls back what the callback wrote", async () => {
  const userId = randomUUID();
  const seen = await withUserDb(deployment.databases.userData.apiUrl, deployment.topology, { kind: "user", userId }, async (client) => {
    await client.query("insert into user_data.user_projects (project_name, project_type) values ('kept only inside', 'blog')");
    const { rows } = await client.query("select current_user as role, user_data.current_user_id()::text as me, (select count(*)::int from user_data.user_projects) as mine");
    return rows[0];
  });
  expect(seen).toEqual({ role: deployment.topology.role("authenticated").name, me: userId, mine: 1 });
  const left = await connect(admin, async (c) => (await c.query("select count(*)::int as n from user_data.user_projects where user_id = $1", [userId])).rows[0].n);
  expect(left, "withUserDb must roll back").toBe(0);
});

test("tests.become and tests.act_as set the role and the user id as transactionSettings does, for the transaction only", async () => {
  const userId = randomUUID();
  const state = "select current_user as role, coalesce(current_setting('app.current_user_id', true), '') as user_id";
  await connect(admin, async (c) => {
    await c.query("begin");
    await c.query("select tests.become($1)", [userId]);
    const user = transactionSettings({ kind: "user", userId }, deployment.topology);
    expect((await c.query(state)).rows[0]).toEqual({ role: user.role, user_id: user["app.current_user_id"] });
    await c.query("select tests.act_as('platformAdmin')");
    const platformAdmin = transactionSettings({ kind: "platformAdmin" }, deployment.topology);
    expect((await c.query(state)).rows[0]).toEqual({ role: platformAdmin.role, user_id: "" });
    await c.query("commit");
    const after = (await c.query(state)).rows[0];
    expect(after.role).not.toBe(platformAdmin.role);
    expect(after.user_id).toBe("");
    await expect(c.query("select tests.act_as('root')")).rejects.toThrow(/unknown kind of caller root/);
  });
});
