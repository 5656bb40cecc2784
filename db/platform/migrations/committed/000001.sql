--! Previous: -
--! Hash: sha1:66a44cb1c6a7009367c6fe8aacc90ba68e9da0c4

-- Platform database: accounts, plans, subscriptions and usage.
-- Roles come from the topology spec through placeholders; they are never created here.

--------------------------------------------------------------------------------
-- Rights that PUBLIC has by default are taken away first; everything below is
-- granted to a named role on purpose.
revoke all on database :DATABASE_NAME from public;
grant connect on database :DATABASE_NAME to :DATABASE_AUTHENTICATOR;
revoke all on schema public from public;
alter default privileges revoke execute on functions from public;

create schema platform;
comment on schema platform is 'Accounts, subscription plans, subscriptions and usage: what the API exposes of the platform database.';
create schema platform_private;
comment on schema platform_private is 'Trigger functions and helpers; never exposed, never granted.';

grant usage on schema platform to :DATABASE_AUTHENTICATED, :DATABASE_ANONYMOUS, :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- The current user, as set per transaction by the API (set_config(..., true)).
create function platform.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path = pg_catalog
as $$
  -- A missing, empty or malformed setting means "nobody": null matches no row.
  select case
    when setting ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then setting::uuid
  end
  from (select current_setting('app.current_user_id', true) as setting) as s
$$;
comment on function platform.current_user_id() is
  'The signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select platform.current_user_id()) so it runs once per statement.';
grant execute on function platform.current_user_id() to :DATABASE_AUTHENTICATED, :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- Shared trigger functions.
create function platform_private.tg__timestamps() returns trigger
  language plpgsql
  set search_path = pg_catalog
as $$
begin
  if tg_op = 'INSERT' then
    new.created_at := now();
  else
    new.created_at := old.created_at;
  end if;
  new.updated_at := now();
  return new;
end;
$$;
comment on function platform_private.tg__timestamps() is 'Keeps created_at and updated_at truthful whatever the client sends.';

create function platform_private.tg__user_id_immutable() returns trigger
  language plpgsql
  set search_path = pg_catalog
as $$
begin
  if new.user_id is distinct from old.user_id then
    raise exception 'user_id cannot be changed' using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function platform_private.tg__user_id_immutable() is 'A row never moves from one user to another, whoever updates it.';

--------------------------------------------------------------------------------
create table platform.users (
  id uuid primary key default gen_random_uuid(),
  clerk_id text not null unique check (clerk_id ~ '^[A-Za-z0-9_-]{1,255}$'),
  email text not null check (length(email) <= 320 and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  display_name text check (length(display_name) between 1 and 200),
  subscription_status text not null default 'none'
    check (subscription_status in ('none', 'trialing', 'active', 'past_due', 'canceled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table platform.users is 'A person with an account: one row per Clerk user.';
comment on column platform.users.clerk_id is 'The Clerk user id (the session token''s subject).';
comment on column platform.users.email is 'Unique regardless of letter case.';
comment on column platform.users.subscription_status is 'Status of the user''s live subscription (none when they never had one); kept in step with user_subscriptions by a trigger.';
create unique index users_email_lower_key on platform.users (lower(email));
create trigger _100_timestamps before insert or update on platform.users
  for each row execute function platform_private.tg__timestamps();

--------------------------------------------------------------------------------
create table platform.subscription_plans (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (name ~ '^[A-Za-z][A-Za-z0-9 ]{0,49}$'),
  price_cents integer not null check (price_cents >= 0),
  billing_interval text not null default 'month' check (billing_interval in ('month', 'year')),
  features jsonb not null default '{}',
  is_public boolean not null default true,
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Every plan states its limits; null means unlimited.
  constraint subscription_plans_features_limits check (
    jsonb_typeof(features) = 'object'
    and jsonb_typeof(features -> 'monthly_tokens') in ('number', 'null')
    and jsonb_typeof(features -> 'max_projects') in ('number', 'null')
    and jsonb_typeof(features -> 'max_personas') in ('number', 'null')
  )
);
comment on table platform.subscription_plans is 'The plans a user can subscribe to (Free, Pro, Enterprise).';
comment on column platform.subscription_plans.price_cents is 'Price per billing interval, in US cents.';
comment on column platform.subscription_plans.features is 'Limits and flags: monthly_tokens, max_projects and max_personas (null = unlimited), plus feature flags.';
create trigger _100_timestamps before insert or update on platform.subscription_plans
  for each row execute function platform_private.tg__timestamps();

insert into platform.subscription_plans (name, price_cents, features, sort_order) values
  ('Free', 0,
    '{"monthly_tokens": 50000, "max_projects": 3, "max_personas": 1, "priority_support": false, "api_access": false}', 1),
  ('Pro', 2900,
    '{"monthly_tokens": 1000000, "max_projects": 50, "max_personas": 10, "priority_support": false, "api_access": true}', 2),
  ('Enterprise', 19900,
    '{"monthly_tokens": null, "max_projects": null, "max_personas": null, "priority_support": true, "api_access": true}', 3);

--------------------------------------------------------------------------------
create table platform.user_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references platform.users (id) on delete cascade,
  plan_id uuid not null references platform.subscription_plans (id) on delete restrict,
  status text not null default 'active' check (status in ('trialing', 'active', 'past_due', 'canceled')),
  current_period_start timestamptz not null default now(),
  current_period_end timestamptz not null default now() + interval '1 month',
  canceled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (current_period_end > current_period_start),
  check ((status = 'canceled') = (canceled_at is not null))
);
comment on table platform.user_subscriptions is 'Which plan a user is on, and was on: at most one live (trialing, active or past_due) subscription per user.';
-- The database itself guarantees one live subscription per user.
create unique index user_subscriptions_one_live_per_user on platform.user_subscriptions (user_id)
  where status in ('trialing', 'active', 'past_due');
create index user_subscriptions_user_id_idx on platform.user_subscriptions (user_id, created_at desc);
create index user_subscriptions_plan_id_idx on platform.user_subscriptions (plan_id);
create trigger _100_timestamps before insert or update on platform.user_subscriptions
  for each row execute function platform_private.tg__timestamps();
create trigger _200_user_id_immutable before update on platform.user_subscriptions
  for each row execute function platform_private.tg__user_id_immutable();

create function platform_private.tg_user_subscriptions__sync_user_status() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog
as $$
declare
  affected uuid := coalesce(new.user_id, old.user_id);
begin
  -- Definer rights: the denormalised status must follow whoever changed the subscription.
  update platform.users u
     set subscription_status = coalesce(
       (select s.status from platform.user_subscriptions s
         where s.user_id = affected and s.status <> 'canceled'
         order by s.created_at desc limit 1),
       case when exists (select 1 from platform.user_subscriptions s where s.user_id = affected)
            then 'canceled' else 'none' end)
   where u.id = affected;
  return null;
end;
$$;
comment on function platform_private.tg_user_subscriptions__sync_user_status() is 'Mirrors the live subscription''s status into users.subscription_status.';
create trigger _500_sync_user_status after insert or update or delete on platform.user_subscriptions
  for each row execute function platform_private.tg_user_subscriptions__sync_user_status();

--------------------------------------------------------------------------------
create table platform.platform_usage_logs (
  id bigint generated always as identity primary key,
  user_id uuid not null references platform.users (id) on delete cascade,
  feature text not null check (feature ~ '^[a-z][a-z0-9_.:-]{0,99}$'),
  tokens_used bigint not null check (tokens_used >= 0),
  cost_usd numeric(14, 6) not null default 0 check (cost_usd >= 0),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now()
);
comment on table platform.platform_usage_logs is 'One row per billable AI operation: the basis of usage analytics and fair-use limits. Append-only for everyone but the platform admin.';
comment on column platform.platform_usage_logs.feature is 'What was used, e.g. blog_writer or podcast.script.';
comment on column platform.platform_usage_logs.cost_usd is 'What the operation cost the platform, in US dollars (exact).';
-- One user's recent usage, newest first.
create index platform_usage_logs_user_recent_idx on platform.platform_usage_logs (user_id, created_at desc);
create trigger _200_user_id_immutable before update on platform.platform_usage_logs
  for each row execute function platform_private.tg__user_id_immutable();

--------------------------------------------------------------------------------
-- Plan changes: one transaction ends the live subscription and starts the next,
-- so a user is never on two plans or on none.
create function platform.change_subscription(
  target_user_id uuid,
  plan_name text,
  period_end timestamptz default now() + interval '1 month'
) returns platform.user_subscriptions
  language plpgsql
  volatile
  set search_path = pg_catalog
as $$
declare
  new_plan platform.subscription_plans;
  result platform.user_subscriptions;
begin
  select * into new_plan from platform.subscription_plans where name = plan_name;
  if not found then
    raise exception 'unknown subscription plan "%"', plan_name using errcode = '22023';
  end if;
  -- Serialise concurrent plan changes for one user.
  perform 1 from platform.users where id = target_user_id for update;
  if not found then
    raise exception 'unknown user %', target_user_id using errcode = '22023';
  end if;
  update platform.user_subscriptions
     set status = 'canceled', canceled_at = now(), current_period_end = greatest(now(), current_period_start + interval '1 microsecond')
   where user_id = target_user_id and status <> 'canceled';
  insert into platform.user_subscriptions (user_id, plan_id, status, current_period_end)
  values (target_user_id, new_plan.id, 'active', period_end)
  returning * into result;
  return result;
end;
$$;
comment on function platform.change_subscription(uuid, text, timestamptz) is
  'Upgrades or downgrades a user: cancels their live subscription and starts one on the named plan, atomically. For the billing service (platform admin).';

--------------------------------------------------------------------------------
-- Registration: the first request of a new Clerk user creates their account and
-- a Free subscription, exactly once even when first requests race.
create function platform.register_user(clerk_id text, email text, display_name text default null)
  returns platform.users
  language plpgsql
  volatile
  set search_path = pg_catalog
as $$
declare
  result platform.users;
  created boolean;
begin
  insert into platform.users as u (clerk_id, email, display_name)
  values (register_user.clerk_id, register_user.email, register_user.display_name)
  on conflict on constraint users_clerk_id_key do update
    set email = excluded.email,
        display_name = coalesce(excluded.display_name, u.display_name)
  returning (u.xmax = 0) into created; -- xmax = 0: the row was inserted, not updated
  if created then
    insert into platform.user_subscriptions (user_id, plan_id)
    select u.id, p.id from platform.users u, platform.subscription_plans p
     where u.clerk_id = register_user.clerk_id and p.name = 'Free';
  end if;
  select * into result from platform.users u where u.clerk_id = register_user.clerk_id;
  return result;
end;
$$;
comment on function platform.register_user(text, text, text) is
  'Finds or creates the account of a Clerk user (keeping its email current); a new account starts on the Free plan. For the API''s sign-in path (platform admin).';

--------------------------------------------------------------------------------
-- Usage and fair use.
create function platform.plan_limits(target_user_id uuid) returns jsonb
  language sql
  stable
  set search_path = pg_catalog
as $$
  -- The live subscription's plan; a user without one is held to the Free plan.
  select coalesce(
    (select p.features from platform.user_subscriptions s
       join platform.subscription_plans p on p.id = s.plan_id
      where s.user_id = target_user_id and s.status in ('trialing', 'active', 'past_due')),
    (select p.features from platform.subscription_plans p where p.name = 'Free'))
$$;
comment on function platform.plan_limits(uuid) is 'The features and limits of the plan a user is on (Free when they have no live subscription).';

create function platform.record_usage(
  target_user_id uuid,
  feature text,
  tokens_used bigint,
  cost_usd numeric default 0,
  metadata jsonb default '{}'
) returns platform.platform_usage_logs
  language plpgsql
  volatile
  set search_path = pg_catalog
as $$
declare
  monthly_limit bigint;
  used bigint;
  result platform.platform_usage_logs;
begin
  -- One user's usage is recorded one event at a time, so two concurrent
  -- requests cannot both slip under the limit.
  perform 1 from platform.users where id = target_user_id for update;
  if not found then
    raise exception 'unknown user %', target_user_id using errcode = '22023';
  end if;
  monthly_limit := (platform.plan_limits(target_user_id) ->> 'monthly_tokens')::bigint;
  if monthly_limit is not null then
    select coalesce(sum(l.tokens_used), 0) into used
      from platform.platform_usage_logs l
     where l.user_id = target_user_id and l.created_at >= date_trunc('month', now(), 'UTC');
    if used + record_usage.tokens_used > monthly_limit then
      raise exception 'monthly token limit exceeded: % of % tokens used, % more requested', used, monthly_limit, record_usage.tokens_used
        using errcode = '53400', hint = 'Upgrade the plan or wait for next month.';
    end if;
  end if;
  insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd, metadata)
  values (target_user_id, record_usage.feature, record_usage.tokens_used, record_usage.cost_usd, record_usage.metadata)
  returning * into result;
  return result;
end;
$$;
comment on function platform.record_usage(uuid, text, bigint, numeric, jsonb) is
  'Records one billable operation, refusing it (SQLSTATE 53400) when it would take the user past their plan''s monthly token limit. For services (platform admin).';

create function platform.usage_summary(since timestamptz default date_trunc('month', now(), 'UTC'))
  returns table (feature text, tokens_used bigint, cost_usd numeric, events bigint)
  language sql
  stable
  set search_path = pg_catalog
as $$
  -- Row-level security limits a signed-in user to their own usage.
  select l.feature, sum(l.tokens_used)::bigint, sum(l.cost_usd), count(*)
    from platform.platform_usage_logs l
   where l.user_id = (select platform.current_user_id()) and l.created_at >= since
   group by l.feature
   order by l.feature
$$;
comment on function platform.usage_summary(timestamptz) is 'The signed-in user''s usage by feature since a moment (the start of this month, UTC, by default).';

--------------------------------------------------------------------------------
-- Row-level security: per-user tables show a signed-in user their own rows;
-- the platform admin sees and maintains every row. Nobody else sees anything.
alter table platform.users enable row level security;
alter table platform.users force row level security;
alter table platform.user_subscriptions enable row level security;
alter table platform.user_subscriptions force row level security;
alter table platform.platform_usage_logs enable row level security;
alter table platform.platform_usage_logs force row level security;

create policy select_own on platform.users for select to :DATABASE_AUTHENTICATED
  using (id = (select platform.current_user_id()));
create policy update_own on platform.users for update to :DATABASE_AUTHENTICATED
  using (id = (select platform.current_user_id()))
  with check (id = (select platform.current_user_id()));
create policy admin_all on platform.users for all to :DATABASE_PLATFORM_ADMIN
  using (true) with check (true);
comment on policy select_own on platform.users is 'A signed-in user sees their own account.';
comment on policy update_own on platform.users is 'A signed-in user may edit their own account (only the columns granted).';
comment on policy admin_all on platform.users is 'The platform admin registers, maintains and removes accounts.';

create policy select_own on platform.user_subscriptions for select to :DATABASE_AUTHENTICATED
  using (user_id = (select platform.current_user_id()));
create policy admin_all on platform.user_subscriptions for all to :DATABASE_PLATFORM_ADMIN
  using (true) with check (true);
comment on policy select_own on platform.user_subscriptions is 'A signed-in user sees their own subscriptions; plan changes go through the billing service.';
comment on policy admin_all on platform.user_subscriptions is 'The billing service (platform admin) changes subscriptions.';

create policy select_own on platform.platform_usage_logs for select to :DATABASE_AUTHENTICATED
  using (user_id = (select platform.current_user_id()));
create policy admin_all on platform.platform_usage_logs for all to :DATABASE_PLATFORM_ADMIN
  using (true) with check (true);
comment on policy select_own on platform.platform_usage_logs is 'A signed-in user sees their own usage.';
comment on policy admin_all on platform.platform_usage_logs is 'Services record usage and the admin analyses it across users.';

--------------------------------------------------------------------------------
-- Grants: only the commands each role needs.
grant select on platform.subscription_plans to :DATABASE_ANONYMOUS, :DATABASE_AUTHENTICATED, :DATABASE_PLATFORM_ADMIN;
grant insert, update on platform.subscription_plans to :DATABASE_PLATFORM_ADMIN;

grant select on platform.users to :DATABASE_AUTHENTICATED;
grant update (display_name) on platform.users to :DATABASE_AUTHENTICATED;
grant select on platform.user_subscriptions to :DATABASE_AUTHENTICATED;
grant select on platform.platform_usage_logs to :DATABASE_AUTHENTICATED;

grant select, insert, update, delete on platform.users, platform.user_subscriptions, platform.platform_usage_logs
  to :DATABASE_PLATFORM_ADMIN;
grant execute on function platform.change_subscription(uuid, text, timestamptz) to :DATABASE_PLATFORM_ADMIN;
grant execute on function platform.register_user(text, text, text) to :DATABASE_PLATFORM_ADMIN;
grant execute on function platform.record_usage(uuid, text, bigint, numeric, jsonb) to :DATABASE_PLATFORM_ADMIN;
grant execute on function platform.plan_limits(uuid) to :DATABASE_PLATFORM_ADMIN;
grant execute on function platform.usage_summary(timestamptz) to :DATABASE_AUTHENTICATED, :DATABASE_PLATFORM_ADMIN;
