/**
 * The benchmark's data set: users, their projects and content assets, skewed
 * the way a content platform is (a few users own a large share of all assets,
 * the long tail owns a few dozen each). Every id is derived from the user's
 * number with md5, so the load generators and pgbench scripts can name a
 * user's id or first project without asking the database.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { withLogin } from "../src/bootstrap/deployment.ts";

export interface DatasetShape {
  users: number;
  assets: number;
  heavyShares: number[];
  heavyProjects: number;
}

export interface UserPlan {
  n: number;
  projects: number;
  assets: number;
}

const md5Uuid = (text: string) =>
  createHash("md5").update(text).digest("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

/** The SQL twins of these expressions appear in the load scripts: keep them in step. */
export const userId = (n: number) => md5Uuid(`bench-user-${n}`);
export const projectId = (n: number, j: number) => md5Uuid(`bench-project-${n}-${j}`);
export const clerkId = (n: number) => `user_bench_${n}`;
export const emailOf = (n: number) => `bench${n}@example.com`;

/** Users 1..heavyShares.length are the heavy ones. */
export const isHeavy = (shape: DatasetShape, n: number) => n <= shape.heavyShares.length;

/**
 * How many projects and assets each user gets. Heavy users take fixed shares;
 * the others follow a power law on their number (user 4 has thousands, the
 * last ones a few dozen), so "small user" means a typical one.
 */
export function planUsers(shape: DatasetShape): UserPlan[] {
  const heavy = shape.heavyShares.length;
  const heavyAssets = shape.heavyShares.map((share) => Math.floor(shape.assets * share));
  const rest = shape.assets - heavyAssets.reduce((a, b) => a + b, 0);
  const weights: number[] = [];
  for (let n = heavy + 1; n <= shape.users; n++) weights.push(Math.pow(n - heavy, -0.7));
  const total = weights.reduce((a, b) => a + b, 0);
  const plans: UserPlan[] = [];
  for (let n = 1; n <= shape.users; n++) {
    if (n <= heavy) plans.push({ n, projects: shape.heavyProjects, assets: heavyAssets[n - 1]! });
    else plans.push({ n, projects: 1 + (n % 8), assets: Math.max(1, Math.floor((rest * weights[n - heavy - 1]!) / total)) });
  }
  // Rounding leaves a remainder; the heaviest user takes it, so the total is exact.
  const planned = plans.reduce((a, p) => a + p.assets, 0);
  plans[0]!.assets += shape.assets - planned;
  return plans;
}

// Accounts as register_user would make them (each on the Free plan), with the derived ids.
const PLATFORM_SQL = [
  `insert into platform.users (id, clerk_id, email, display_name)
   select md5('bench-user-' || n)::uuid, 'user_bench_' || n, 'bench' || n || '@example.com', 'Bench user ' || n
     from generate_series(1, $1::int) as n`,
  `insert into platform.user_subscriptions (user_id, plan_id)
   select u.id, p.id from platform.users u, platform.subscription_plans p where p.name = 'Free'`,
];

// Rows are written in the order of their keys (user, then time), as a real
// table fills up, with triggers off (session_replication_role = replica): the
// foreign keys hold by construction and created_at must be spread over time.
const USER_DATA_SQL = [
  `insert into user_data.user_profiles (user_id, business_name, created_at, updated_at)
   select md5('bench-user-' || n)::uuid, 'Business ' || n, now() - interval '2 years', now() - interval '2 years'
     from unnest($1::int[]) as n`,
  `insert into user_data.user_projects (id, user_id, project_name, project_type, created_at, updated_at)
   select md5('bench-project-' || u.n || '-' || j)::uuid, md5('bench-user-' || u.n)::uuid, 'Project ' || j,
          (enum_range(null::user_data.project_type))[1 + j % 8], now() - make_interval(days => 700 - j), now()
     from unnest($1::int[], $2::int[]) as u(n, projects), generate_series(1, u.projects) as j`,
  `insert into user_data.user_content_assets (user_id, project_id, asset_type, title, content, created_at, updated_at)
   select md5('bench-user-' || u.n)::uuid, md5('bench-project-' || u.n || '-' || (1 + i % u.projects))::uuid,
          (enum_range(null::user_data.asset_type))[1 + i % 9], 'Post ' || i, repeat(md5(i::text), 12),
          now() - make_interval(secs => (u.assets - i) * 37), now()
     from unnest($1::int[], $2::int[], $3::int[]) as u(n, projects, assets), generate_series(1, u.assets) as i`,
  // What the assets' triggers keep (user_asset_counts), counted once since they were off.
  `insert into user_data.user_asset_counts (user_id, assets)
   select user_id, count(*) from user_data.user_content_assets group by user_id`,
];

async function asSuperuser<T>(deployment: Deployment, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new URL(deployment.adminUrl!);
  const client = new pg.Client({
    connectionString: withLogin(deployment.adminUrl!, decodeURIComponent(admin.username), decodeURIComponent(admin.password), database),
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Fills both databases of a migrated deployment, then vacuums and analyzes them. */
export async function loadDataset(deployment: Deployment, shape: DatasetShape): Promise<void> {
  const plans = planUsers(shape);
  await asSuperuser(deployment, deployment.platform.name, async (client) => {
    await client.query("set synchronous_commit = off");
    await client.query("begin");
    await client.query(PLATFORM_SQL[0]!, [shape.users]);
    await client.query(PLATFORM_SQL[1]!);
    await client.query("commit");
    await client.query("vacuum analyze");
  });
  await asSuperuser(deployment, deployment.userData.name, async (client) => {
    await client.query("set synchronous_commit = off");
    await client.query("set maintenance_work_mem = '256MB'");
    await client.query("set session_replication_role = replica");
    const columns = [plans.map((p) => p.n), plans.map((p) => p.projects), plans.map((p) => p.assets)];
    await client.query("begin");
    // Each statement takes as many of the columns as it names ($1, $2, $3).
    for (const sql of USER_DATA_SQL) await client.query(sql, columns.slice(0, new Set(sql.match(/\$\d/g)).size));
    await client.query("commit");
    await client.query("vacuum analyze");
    await client.query("checkpoint");
  });
}
