/**
 * `alwrity db audit`: what no transaction can guarantee across two databases,
 * checked after the fact. Lists user ids that own rows in the user-data
 * database but have no live platform user (never registered, or erased), and
 * live platform users without their profile. Exits 1 when it finds any.
 *
 * Every tenant's rows must be seen, which row-level security rightly forbids
 * to the API's roles: the user-data side is read through the migration login
 * (the owner), in a read-only transaction, as `db info` reads migrations.
 */
import pg from "pg";
import type { Deployment } from "../bootstrap/deployment.ts";

export interface AuditFindings {
  /** User ids with rows in the user-data database and no live platform user. */
  readonly orphanedUserIds: string[];
  /** Live platform users (no erasure requested) without a profile. */
  readonly usersWithoutProfile: string[];
}

const USER_DATA_OWNERS = `
  select user_id from user_data.user_profiles union select user_id from user_data.user_projects
  union select user_id from user_data.user_personas union select user_id from user_data.user_content_assets`;

async function readOnly<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "alwrity-audit" });
  await client.connect();
  try {
    await client.query("begin transaction read only");
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function auditDeployment(deployment: Deployment): Promise<AuditFindings> {
  const urls = (["platform", "userData"] as const).map((key) => {
    const url = deployment.endpoints(key).migrationUrl;
    if (!url) throw new Error(`alwrity db audit reads every tenant's rows: set ${key === "platform" ? "PLATFORM" : "USER_DATA"}_MIGRATION_DATABASE_URL (the owner's URL)`);
    return url;
  });
  const platform = await readOnly(urls[0]!, async (c) => {
    const { rows } = await c.query<{ id: string; erasing: boolean; erased: boolean }>(
      `select u.id, d.user_id is not null as erasing, coalesce(d.state = 'completed', false) as erased
         from platform.users u left join platform_backend.account_deletions d on d.user_id = u.id`,
    );
    return rows;
  });
  const userData = await readOnly(urls[1]!, async (c) => {
    const owners = await c.query<{ user_id: string }>(USER_DATA_OWNERS);
    const profiles = await c.query<{ user_id: string }>("select user_id from user_data.user_profiles");
    return { owners: owners.rows.map((r) => r.user_id), profiles: new Set(profiles.rows.map((r) => r.user_id)) };
  });
  const live = new Set(platform.filter((u) => !u.erased).map((u) => u.id));
  return {
    orphanedUserIds: userData.owners.filter((id) => !live.has(id)).sort(),
    usersWithoutProfile: platform.filter((u) => !u.erasing && !userData.profiles.has(u.id)).map((u) => u.id).sort(),
  };
}
