/**
 * For load tests that create more than a Free account may: moves a user (by
 * Clerk id, once they have signed in) to Enterprise and gives the user-data
 * database the entitlements the sync job would write, through the owner
 * logins. Plan limits themselves are tested in test/db/plan-limits-concurrency.test.ts.
 */
import pg from "pg";

export async function giveUnlimitedPlan(ownerUrls: { platform: string; userData: string }, clerkId: string): Promise<void> {
  const platform = new pg.Client({ connectionString: ownerUrls.platform });
  const userData = new pg.Client({ connectionString: ownerUrls.userData });
  await platform.connect();
  await userData.connect();
  try {
    const changed = await platform.query<{ id: string }>(
      `select u.id from platform.users u, lateral platform_backend.change_subscription(u.id, 'Enterprise') s where u.clerk_id = $1`,
      [clerkId],
    );
    if (!changed.rows[0]) throw new Error(`no account for ${clerkId}: sign in first`);
    // The version of the new plan, read after the change (a statement of its own sees it): the sync
    // job queued at sign-in may still write the Free plan's older version, which this one then outranks.
    const { rows } = await platform.query<{ id: string; version: string }>(
      "select $1::uuid as id, (select e.version from platform_backend.entitlements_of($1::uuid) e) as version",
      [changed.rows[0].id],
    );
    await userData.query(
      `insert into user_data.user_entitlements (user_id, plan_name, max_projects, max_personas, monthly_tokens, version)
       values ($1, 'Enterprise', null, null, null, $2)
       on conflict (user_id) do update set plan_name = 'Enterprise', max_projects = null, max_personas = null, monthly_tokens = null, version = excluded.version`,
      [rows[0]!.id, rows[0]!.version],
    );
  } finally {
    await platform.end();
    await userData.end();
  }
}
