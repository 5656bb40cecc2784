/**
 * Users with rows in every table of both databases, for the export tests (the
 * CLI's and the API's): an account (registered like a first sign-in), a
 * profile, a project, a persona, `assets` assets (inserted in one statement
 * with generate_series, so 100,000 take seconds) and a usage log. The rows
 * are written through the owner logins, so the data does not depend on what
 * the API lets a user write; `cleanup` removes the user-data rows again.
 */
import pg from "pg";
import type { Databases } from "../../src/db/databases.ts";
import { findOrCreateUser } from "../../src/services/accounts.ts";
import { syncEntitlements } from "../../src/services/entitlements.ts";
import { requestPlanChange } from "../../src/services/plans.ts";
import { testDeployment } from "./test-deployment.ts";

export interface UserFixtures {
  /** Creates `user_<name>_<run>` (its Clerk id) with data; answers the platform user id. */
  userWithData(name: string, assets: number): Promise<string>;
  /** The Clerk id userWithData gave `name`: sign in with it to act as that user. */
  clerkId(name: string): string;
  readonly platformOwner: pg.Client;
  readonly userDataOwner: pg.Client;
  cleanup(): Promise<void>;
}

export async function userFixtures(databases: Pick<Databases, "platform" | "userData">, run: string): Promise<UserFixtures> {
  const d = testDeployment();
  const platformOwner = new pg.Client({ connectionString: d.databases.platform.migrationUrl });
  const userDataOwner = new pg.Client({ connectionString: d.databases.userData.migrationUrl });
  await platformOwner.connect();
  await userDataOwner.connect();
  const users: string[] = [];
  const clerkId = (name: string) => `user_${name}_${run}`;

  return {
    platformOwner,
    userDataOwner,
    clerkId,
    async userWithData(name, assets) {
      const id = (await databases.platform.withPlatformAdmin((admin) => findOrCreateUser(admin, { clerkId: clerkId(name), email: `${name}-${run}@example.com`, displayName: name }))).id;
      users.push(id);
      await userDataOwner.query(
        `with p as (insert into user_data.user_profiles (user_id, business_name) values ($1, $3) returning user_id),
              j as (insert into user_data.user_projects (user_id, project_name, project_type)
                    values ($1, $3 || ' project', (enum_range(null::user_data.project_type))[1]) returning id),
              s as (insert into user_data.user_personas (user_id, persona_name) values ($1, $3 || ' persona') returning id)
         insert into user_data.user_content_assets (user_id, project_id, persona_id, asset_type, title, content)
         select $1, (select id from j), (select id from s), (enum_range(null::user_data.asset_type))[1], $3 || ' asset ' || g, repeat('x', 200)
           from generate_series(1, $2::int) g`,
        [id, assets, name],
      );
      await platformOwner.query("insert into platform.platform_usage_logs (user_id, feature, tokens_used) values ($1, 'blog_writer', 10)", [id]);
      // A plan change (history) and the entitlements it carries to the user-data database.
      await databases.platform.withPlatformAdmin((admin) => requestPlanChange(admin, id, "Pro"));
      await syncEntitlements(databases, id);
      return id;
    },
    async cleanup() {
      for (const id of users) {
        await userDataOwner.query("delete from user_data.user_content_assets where user_id = $1", [id]);
        await userDataOwner.query("delete from user_data.user_personas where user_id = $1", [id]);
        await userDataOwner.query("delete from user_data.user_projects where user_id = $1", [id]);
        await userDataOwner.query("delete from user_data.user_profiles where user_id = $1", [id]);
        await userDataOwner.query("delete from user_data.user_entitlements where user_id = $1", [id]);
      }
      await platformOwner.end();
      await userDataOwner.end();
    },
  };
}
