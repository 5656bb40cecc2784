/**
 * withUserContext is the only way a service acts as a user: these tests show
 * that its role and user id hold for exactly one transaction, that the
 * transaction commits or rolls back as a whole, and that nothing a callback
 * does reaches the next use of a pooled connection.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Databases } from "../../src/db/databases.ts";
import type { Session } from "../../src/db/session.ts";
import { createProject, listProjects } from "../../src/services/projects.ts";
import { databasesFor, newUser, sharedEndpoints } from "../support/databases.ts";

const endpoints = sharedEndpoints;
let databases: Databases;
const users: string[] = [];
const logged: { event: string; fields: Record<string, unknown> }[] = [];

beforeAll(async () => {
  databases = databasesFor(endpoints(), { size: 2, maxOverflow: 0 }, { logger: (event, fields = {}) => logged.push({ event, fields }) });
  for (let i = 0; i < 4; i++) users.push(await newUser(databases));
  for (const [i, user] of users.entries()) {
    await databases.userData.withUserContext(user, (s) => createProject(s, { projectName: `project of user ${i}`, projectType: "blog" }));
  }
});
afterAll(() => databases.close());

const whoAmI = async (session: Session) =>
  (await session.query<{ role: string; user_id: string | null }>("select current_user as role, user_data.current_user_id() as user_id")).rows[0]!;

describe("withUserContext", () => {
  test("runs as authenticated_users with the user's id, and RLS shows only that user's rows", async () => {
    const [a, b] = users as [string, string];
    const seen = await databases.userData.withUserContext(a, async (session) => ({
      me: await whoAmI(session),
      owners: (await session.query<{ user_id: string }>("select distinct user_id from user_data.user_projects")).rows.map((r) => r.user_id),
    }));
    expect(seen.me).toEqual({ role: endpoints().topology.role("authenticated").name, user_id: a });
    expect(seen.owners).toEqual([a]);
    expect((await databases.userData.withUserContext(b, (s) => listProjects(s))).map((p) => p.project_name)).toEqual(["project of user 1"]);
  });

  test("many interleaved users on a pool of 2 each see only themselves, before and after every statement", async () => {
    const tasks = Array.from({ length: 60 }, (_, i) => {
      const user = users[i % users.length]!;
      return databases.userData.withUserContext(user, async (session) => {
        const before = await whoAmI(session);
        await session.query("select pg_sleep($1)", [(i % 5) / 1000]);
        const owners = (await session.query<{ user_id: string }>("select user_id from user_data.user_projects")).rows;
        const after = await whoAmI(session);
        if (i % 7 === 3) throw new Error(`planned failure ${i}`);
        return { user, before: before.user_id, after: after.user_id, owners: [...new Set(owners.map((r) => r.user_id))] };
      });
    });
    const results = await Promise.allSettled(tasks);
    const done = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(done.length).toBeGreaterThan(40);
    expect(results.length - done.length).toBe(results.filter((_, i) => i % 7 === 3).length);
    for (const r of done) expect({ before: r.before, after: r.after, owners: r.owners }).toEqual({ before: r.user, after: r.user, owners: [r.user] });
    expect(databases.userData.poolStats().total).toBeLessThanOrEqual(2);
  });

  test("the next use of the same pooled connection runs as the next user, not the previous one", async () => {
    const single = databasesFor(endpoints(), { size: 1, maxOverflow: 0 });
    try {
      const probe = (user: string) =>
        single.userData.withUserContext(user, async (s) => ({
          pid: (await s.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid,
          me: (await whoAmI(s)).user_id,
          projects: (await s.query("select 1 from user_data.user_projects")).rowCount,
        }));
      const [a, b] = users as [string, string];
      const first = await probe(a);
      const second = await probe(b);
      expect(second.pid).toBe(first.pid);
      expect([first.me, second.me]).toEqual([a, b]);
      expect(second.projects).toBe(1);
    } finally {
      await single.close();
    }
  });

  test("a callback's session-level SET ROLE / SET app.current_user_id never reaches the next user: the connection is discarded", async () => {
    const single = databasesFor(endpoints(), { size: 1, maxOverflow: 0 }, { logger: (event, fields = {}) => logged.push({ event, fields }) });
    try {
      const [a, b] = users as [string, string];
      const firstPid = await single.userData.withUserContext(a, async (session) => {
        await session.query(`set role ${endpoints().topology.role("authenticated").name}`);
        await session.query(`set app.current_user_id = '${a}'`);
        return (await session.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      });
      const next = await single.userData.withUserContext(b, async (session) => ({
        pid: (await session.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid,
        me: await whoAmI(session),
      }));
      expect(next.pid).not.toBe(firstPid);
      expect(next.me.user_id).toBe(b);
      expect(logged.some((l) => l.event === "connection_discarded" && String(l.fields.reason).includes("a role and a user id"))).toBe(true);
    } finally {
      await single.close();
    }
  });

  test("commits as a whole, or rolls back as a whole when the callback throws", async () => {
    const user = users[2]!;
    const count = () => databases.userData.withUserContext(user, async (s) => (await s.query("select 1 from user_data.user_projects")).rowCount);
    const before = await count();
    await expect(
      databases.userData.withUserContext(user, async (session) => {
        await session.query("insert into user_data.user_projects (project_name, project_type) values ('doomed', 'blog')");
        throw new Error("the service changed its mind");
      }),
    ).rejects.toThrow("the service changed its mind");
    expect(await count()).toBe(before);
    await databases.userData.withUserContext(user, (s) => s.query("insert into user_data.user_projects (project_name, project_type) values ('kept', 'blog')"));
    expect(await count()).toBe(before! + 1);
  });

  test("a failed statement whose error the callback swallowed is not reported as committed", async () => {
    await expect(
      databases.userData.withUserContext(users[0]!, async (session) => {
        await session.query("select 1/0").catch(() => undefined);
        return "looks fine";
      }),
    ).rejects.toThrow(/nothing was committed/);
  });

  test("a session kept past its callback cannot be used", async () => {
    let kept: Session | undefined;
    await databases.userData.withUserContext(users[0]!, async (session) => {
      kept = session;
    });
    await expect(kept!.query("select 1")).rejects.toThrow(/transaction has ended/);
  });

  test("a transaction takes three round trips: begin with the settings, the statement, commit with the check", async () => {
    const statements: string[] = [];
    const echoing = databasesFor(endpoints(), { size: 1, maxOverflow: 0 }, {
      echo: true,
      logger: (event, fields = {}) => {
        if (event === "statement") statements.push(String(fields.statement));
      },
    });
    try {
      const me = await echoing.userData.withUserContext(users[0]!, whoAmI);
      expect(me.user_id).toBe(users[0]);
    } finally {
      await echoing.close();
    }
    expect(statements).toHaveLength(3);
    // The log shows the begin statement with placeholders where its values went (they are sent as literals).
    expect(statements[0]).toMatch(/^begin; select .*set_config\('role', \$1, true\).*set_config\('app\.current_user_id', \$2, true\)/);
    expect(statements[1]).toMatch(/current_user as role/);
    expect(statements[2]).toMatch(/^commit; select current_user = session_user/);
  });

  test("refuses a user id that is not a uuid", async () => {
    await expect(databases.userData.withUserContext("' or true --", async () => 1)).rejects.toThrow(/needs a user id \(a uuid\)/);
  });

  test("the platform admin exists on the platform database only, and runs without a user id", async () => {
    // @ts-expect-error the user-data database has no platform admin: the admin has no access to users' content
    expect(databases.userData.withPlatformAdmin).toBeUndefined();
    const me = await databases.platform.withPlatformAdmin(
      async (s) => (await s.query<{ role: string; user_id: string | null }>("select current_user as role, platform.current_user_id() as user_id")).rows[0],
    );
    expect(me).toEqual({ role: endpoints().topology.role("platformAdmin").name, user_id: null });
  });
});
