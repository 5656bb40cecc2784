--! Previous: sha1:98b2ba80e14c89d75ebae4af4ead3b462491f02b
--! Hash: sha1:84b2f529516720ada9e9f7933b32bbe4be5cb715

-- Usage metering in constant time, usage logs partitioned by month, and analytics for
-- platform admins.
--
-- 1. platform.usage_monthly_totals: a running total per user and month, kept by statement
--    triggers on the usage logs (any insert, update or delete, whoever makes it), so
--    record_usage and the remaining allowance read one row instead of summing the month.
-- 2. platform.platform_usage_logs becomes partitioned by month (range on created_at): the
--    table is made anew, its rows moved, the old one dropped. Partitions live in
--    platform_partitions (granted to nobody: rows are reached through the parent, under its
--    policies); the job queue creates them ahead (ensure_usage_partitions, daily), and old
--    ones are detached once their totals are checked (detach_usage_partitions).
-- 3. platform_analytics: security-invoker functions over logs and subscriptions, usable only
--    by the platform admin.
--
-- Idempotent: drops first, in reverse dependency order. On a database where the logs are
-- already partitioned (a re-run of this file), the conversion is skipped. The conversion runs
-- inside a DO block, which squawk does not read: it moves every row once under the
-- migration's lock (5 s lock_timeout), acceptable for the log sizes of this deployment.

drop schema if exists platform_analytics cascade;
drop function if exists platform.monthly_allowance();
drop type if exists platform.monthly_allowance;
drop function if exists platform_backend.detach_usage_partitions(date);
drop function if exists platform_backend.ensure_usage_partitions(integer);
drop function if exists platform_private.create_usage_partition(date);
drop trigger if exists _800_totals_insert on platform.platform_usage_logs;
drop trigger if exists _800_totals_update on platform.platform_usage_logs;
drop trigger if exists _800_totals_delete on platform.platform_usage_logs;
drop function if exists platform_private.tg_platform_usage_logs__totals();
drop function if exists platform_backend.record_usage(uuid, text, bigint, numeric, jsonb);
-- reason: usage_monthly_totals is created by this same migration (dropped only when it re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform.usage_monthly_totals;

---------------------------------------------------------------------------------------------
-- 2. The partitioned usage log.

create schema if not exists platform_partitions;
comment on schema platform_partitions is
  'Monthly partitions of platform.platform_usage_logs (and detached old ones). Granted to nobody: rows are read and written through the parent table, under its policies.';

create function platform_private.create_usage_partition(month_start date) returns text
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
declare
  name text := format('platform_usage_logs_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
begin
  if month_start <> date_trunc('month', month_start)::date then
    raise exception 'a usage partition starts on the first day of a month, not %', month_start using errcode = '22023';
  end if;
  if to_regclass(format('platform_partitions.%I', name)) is not null then
    return null;
  end if;
  -- Bounds in UTC: a month is the same month for every server time zone.
  execute format(
    'create table platform_partitions.%I partition of platform.platform_usage_logs for values from (%L) to (%L)',
    name, (month_start::timestamp at time zone 'UTC'), ((month_start + interval '1 month')::timestamp at time zone 'UTC'));
  -- The parent's policies govern access through it; a partition is reached directly only by its
  -- owner, and row-level security forced on it too keeps that true even if someone grants it.
  execute format('alter table platform_partitions.%I enable row level security', name);
  execute format('alter table platform_partitions.%I force row level security', name);
  return name;
end;
$$;
comment on function platform_private.create_usage_partition(date) is
  'Creates the usage-log partition of the month starting on month_start (UTC bounds) unless it exists; answers its name, or null when it existed.';

do $convert$
begin
  if (select c.relkind from pg_class c where c.oid = 'platform.platform_usage_logs'::regclass) = 'p' then
    return; -- already converted (this file run again)
  end if;
  alter table platform.platform_usage_logs rename to platform_usage_logs_unpartitioned;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_pkey to platform_usage_logs_unpartitioned_pkey;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_user_id_fkey to platform_usage_logs_unpartitioned_user_id_fkey;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_cost_usd_check to platform_usage_logs_unpartitioned_cost_usd_check;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_feature_check to platform_usage_logs_unpartitioned_feature_check;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_metadata_check to platform_usage_logs_unpartitioned_metadata_check;
  alter table platform.platform_usage_logs_unpartitioned rename constraint platform_usage_logs_tokens_used_check to platform_usage_logs_unpartitioned_tokens_used_check;
  alter index platform.platform_usage_logs_user_recent_idx rename to platform_usage_logs_unpartitioned_user_recent_idx;

  -- Identity columns on partitioned tables need PostgreSQL 17; a sequence works on 15 too.
  create sequence platform.platform_usage_log_ids as bigint;
  create table platform.platform_usage_logs (
    id bigint not null default nextval('platform.platform_usage_log_ids'),
    user_id uuid not null references platform.users (id) on delete cascade,
    feature text not null check (feature ~ '^[a-z][a-z0-9_.:-]{0,99}$'),
    tokens_used bigint not null check (tokens_used >= 0),
    cost_usd numeric(14, 6) not null default 0 check (cost_usd >= 0),
    metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz not null default now(),
    -- A key of a partitioned table includes the partition key; it leads with user_id, and
    -- read backwards it serves one user's recent usage (the old user_recent index).
    constraint platform_usage_logs_pkey primary key (user_id, created_at, id)
  ) partition by range (created_at);
  alter sequence platform.platform_usage_log_ids owned by platform.platform_usage_logs.id;

  -- Partitions for every month that has rows, and the current and next three months.
  perform platform_private.create_usage_partition(m::date)
     from (select distinct date_trunc('month', l.created_at at time zone 'UTC') as m from platform.platform_usage_logs_unpartitioned l
           union
           select date_trunc('month', now() at time zone 'UTC') + make_interval(months => g) from generate_series(0, 3) g) months;

  insert into platform.platform_usage_logs (id, user_id, feature, tokens_used, cost_usd, metadata, created_at)
  select l.id, l.user_id, l.feature, l.tokens_used, l.cost_usd, l.metadata, l.created_at from platform.platform_usage_logs_unpartitioned l;
  perform setval('platform.platform_usage_log_ids', coalesce((select max(l.id) from platform.platform_usage_logs_unpartitioned l), 0) + 1, false);
  drop table platform.platform_usage_logs_unpartitioned;
end;
$convert$;

-- The API lets a user order and filter their usage by id (it is in the key): an index leading with
-- user_id and id serves that, as every listable column's index does.
-- reason: on a partitioned table CONCURRENTLY is not possible; the table was created above in this migration
-- squawk-ignore require-concurrent-index-creation
create index if not exists platform_usage_logs_user_id_id_idx on platform.platform_usage_logs (user_id, id);

comment on table platform.platform_usage_logs is
  'One row per billable AI operation: the basis of usage analytics and fair-use limits. Append-only for everyone but the platform admin. Partitioned by month (created_at, UTC).';
comment on column platform.platform_usage_logs.feature is 'What was used, e.g. blog_writer or podcast.script.';
comment on column platform.platform_usage_logs.cost_usd is 'What the operation cost the platform, in US dollars (exact).';

drop trigger if exists _200_user_id_immutable on platform.platform_usage_logs;
create trigger _200_user_id_immutable before update on platform.platform_usage_logs
  for each row execute function platform_private.tg__user_id_immutable();

alter table platform.platform_usage_logs enable row level security;
alter table platform.platform_usage_logs force row level security;
drop policy if exists select_own on platform.platform_usage_logs;
drop policy if exists admin_all on platform.platform_usage_logs;
create policy select_own on platform.platform_usage_logs for select to :DATABASE_AUTHENTICATED
  using (user_id = (select platform.current_user_id()));
create policy admin_all on platform.platform_usage_logs for all to :DATABASE_PLATFORM_ADMIN
  using (true) with check (true);
comment on policy select_own on platform.platform_usage_logs is 'A signed-in user sees their own usage.';
comment on policy admin_all on platform.platform_usage_logs is 'Services record usage and the admin analyses it across users.';
grant select on platform.platform_usage_logs to :DATABASE_AUTHENTICATED;
grant select, insert, update, delete on platform.platform_usage_logs to :DATABASE_PLATFORM_ADMIN;
grant usage on sequence platform.platform_usage_log_ids to :DATABASE_PLATFORM_ADMIN;

---------------------------------------------------------------------------------------------
-- 1. Running monthly totals.

create table platform.usage_monthly_totals (
  user_id uuid not null references platform.users (id) on delete cascade,
  month date not null check (month = date_trunc('month', month)::date),
  tokens_used bigint not null default 0,
  cost_usd numeric(18, 6) not null default 0,
  events bigint not null default 0,
  primary key (user_id, month)
);
comment on table platform.usage_monthly_totals is
  'Each user''s usage per calendar month (UTC), kept equal to the sum of their usage logs by triggers in the same transaction: the quota check and the remaining allowance read one row. Outlives detached log partitions.';
comment on column platform.usage_monthly_totals.month is 'The first day of the month (UTC).';

alter table platform.usage_monthly_totals enable row level security;
alter table platform.usage_monthly_totals force row level security;
create policy select_own on platform.usage_monthly_totals for select to :DATABASE_AUTHENTICATED
  using (user_id = (select platform.current_user_id()));
create policy select_all on platform.usage_monthly_totals for select to :DATABASE_PLATFORM_ADMIN
  using (true);
comment on policy select_own on platform.usage_monthly_totals is 'A signed-in user sees their own totals.';
comment on policy select_all on platform.usage_monthly_totals is 'Services check quotas and admins analyse usage across users.';
-- Writes: none is granted, and these say so per command, so a grant added by mistake still writes nothing.
create policy insert_none on platform.usage_monthly_totals for insert to :DATABASE_PLATFORM_ADMIN with check (false);
create policy update_none on platform.usage_monthly_totals for update to :DATABASE_PLATFORM_ADMIN using (false) with check (false);
create policy delete_none on platform.usage_monthly_totals for delete to :DATABASE_PLATFORM_ADMIN using (false);
comment on policy insert_none on platform.usage_monthly_totals is 'Only the usage-log triggers (definer rights) write totals.';
comment on policy update_none on platform.usage_monthly_totals is 'Only the usage-log triggers (definer rights) write totals.';
comment on policy delete_none on platform.usage_monthly_totals is 'Only the usage-log triggers (definer rights) write totals; rows go with their user.';
grant select on platform.usage_monthly_totals to :DATABASE_AUTHENTICATED, :DATABASE_PLATFORM_ADMIN;

create function platform_private.tg_platform_usage_logs__totals() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  -- Definer rights: totals follow every change to the logs, whoever makes it, and nobody
  -- writes them directly. One upsert per (user, month) the statement touched; the row lock
  -- it takes serialises concurrent statements for the same user and month, so sums stay exact.
  if tg_op = 'INSERT' then
    insert into platform.usage_monthly_totals as t (user_id, month, tokens_used, cost_usd, events)
    select n.user_id, date_trunc('month', n.created_at at time zone 'UTC')::date, sum(n.tokens_used), sum(n.cost_usd), count(*)
      from new_rows n group by 1, 2
    on conflict (user_id, month) do update
      set tokens_used = t.tokens_used + excluded.tokens_used, cost_usd = t.cost_usd + excluded.cost_usd, events = t.events + excluded.events;
  elsif tg_op = 'UPDATE' then
    insert into platform.usage_monthly_totals as t (user_id, month, tokens_used, cost_usd, events)
    select d.user_id, d.month, sum(d.tokens_used), sum(d.cost_usd), sum(d.events)
      from (select n.user_id, date_trunc('month', n.created_at at time zone 'UTC')::date as month, n.tokens_used, n.cost_usd, 1 as events from new_rows n
            union all
            select o.user_id, date_trunc('month', o.created_at at time zone 'UTC')::date, -o.tokens_used, -o.cost_usd, -1 from old_rows o) d
     group by 1, 2
    on conflict (user_id, month) do update
      set tokens_used = t.tokens_used + excluded.tokens_used, cost_usd = t.cost_usd + excluded.cost_usd, events = t.events + excluded.events;
  else
    -- An update, not an upsert: rows deleted with their user (cascade) have no totals left to fix.
    update platform.usage_monthly_totals t
       set tokens_used = t.tokens_used - d.tokens_used, cost_usd = t.cost_usd - d.cost_usd, events = t.events - d.events
      from (select o.user_id, date_trunc('month', o.created_at at time zone 'UTC')::date as month,
                   sum(o.tokens_used) as tokens_used, sum(o.cost_usd) as cost_usd, count(*) as events
              from old_rows o group by 1, 2) d
     where t.user_id = d.user_id and t.month = d.month;
  end if;
  return null;
end;
$$;
comment on function platform_private.tg_platform_usage_logs__totals() is
  'Keeps platform.usage_monthly_totals equal to the sums of the usage logs, per statement (a bulk insert costs one upsert per user and month).';
create trigger _800_totals_insert after insert on platform.platform_usage_logs
  referencing new table as new_rows for each statement execute function platform_private.tg_platform_usage_logs__totals();
create trigger _800_totals_update after update on platform.platform_usage_logs
  referencing old table as old_rows new table as new_rows for each statement execute function platform_private.tg_platform_usage_logs__totals();
create trigger _800_totals_delete after delete on platform.platform_usage_logs
  referencing old table as old_rows for each statement execute function platform_private.tg_platform_usage_logs__totals();

-- Backfill: the totals of every log row already there (moved above, or present on a re-run).
insert into platform.usage_monthly_totals (user_id, month, tokens_used, cost_usd, events)
select l.user_id, date_trunc('month', l.created_at at time zone 'UTC')::date, sum(l.tokens_used), sum(l.cost_usd), count(*)
  from platform.platform_usage_logs l group by 1, 2;

create function platform_backend.record_usage(
  target_user_id uuid,
  feature text,
  tokens_used bigint,
  cost_usd numeric default 0,
  metadata jsonb default '{}'
) returns platform.platform_usage_logs
  language plpgsql
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
  monthly_limit := (platform_backend.plan_limits(target_user_id) ->> 'monthly_tokens')::bigint;
  if monthly_limit is not null then
    -- One row, however many events the month holds.
    used := coalesce((select t.tokens_used from platform.usage_monthly_totals t
                       where t.user_id = target_user_id and t.month = date_trunc('month', now() at time zone 'UTC')::date), 0);
    if used + record_usage.tokens_used > monthly_limit then
      raise exception 'monthly token limit exceeded: % of % tokens used, % more requested', used, monthly_limit, record_usage.tokens_used
        using errcode = '53400', hint = 'Upgrade the plan or wait for next month.';
    end if;
  end if;
  begin
    insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd, metadata)
    values (target_user_id, record_usage.feature, record_usage.tokens_used, record_usage.cost_usd, record_usage.metadata)
    returning * into result;
  exception when check_violation then
    -- No partition for this month: the job queue should have made it ahead. Say so loudly.
    if sqlerrm like 'no partition of relation%' then
      raise exception 'usage cannot be recorded: the usage log has no partition for %', to_char(now() at time zone 'UTC', 'YYYY-MM')
        using errcode = '55000', hint = 'Run `alwrity usage ensure-partitions` and check that the job worker runs ensure_usage_partitions.';
    end if;
    raise;
  end;
  return result;
end;
$$;
comment on function platform_backend.record_usage(uuid, text, bigint, numeric, jsonb) is
  'Records one billable operation, refusing it (SQLSTATE 53400) when it would take the user past their plan''s monthly token limit, checked against the month''s running total. For services (platform admin).';
grant execute on function platform_backend.record_usage(uuid, text, bigint, numeric, jsonb) to :DATABASE_PLATFORM_ADMIN;

create type platform.monthly_allowance as (
  tokens_used bigint,
  token_limit bigint,
  tokens_remaining bigint,
  resets_at timestamptz
);
comment on type platform.monthly_allowance is 'How much of this month''s token allowance is used and left.';
comment on column platform.monthly_allowance.token_limit is 'The plan''s monthly token limit; null when unlimited.';
comment on column platform.monthly_allowance.tokens_remaining is 'Tokens left this month (never below 0); null when unlimited.';
comment on column platform.monthly_allowance.resets_at is 'When the allowance starts again: the first moment of next month (UTC).';

create function platform.monthly_allowance() returns platform.monthly_allowance
  language plpgsql
  stable
  set search_path = pg_catalog
as $$
-- PL/pgSQL rather than SQL: its statements' plans are cached for the session, where a SQL
-- function with a SET clause is planned again on every call (about 5x slower here).
declare
  me uuid := platform.current_user_id();
  used bigint;
  lim bigint;
begin
  if me is null then
    return null;
  end if;
  -- Invoker rights: row-level security shows the signed-in user their own totals and plan.
  used := coalesce((select t.tokens_used from platform.usage_monthly_totals t
                     where t.user_id = me and t.month = date_trunc('month', now() at time zone 'UTC')::date), 0);
  lim := (coalesce(
            (select p.features from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
              where s.user_id = me and s.status in ('trialing', 'active', 'past_due')),
            (select p.features from platform.subscription_plans p where p.name = 'Free')) ->> 'monthly_tokens')::bigint;
  -- greatest() ignores nulls: an unlimited plan must answer null remaining, not 0.
  return row(used, lim, case when lim is not null then greatest(lim - used, 0) end,
             (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC')::platform.monthly_allowance;
end;
$$;
comment on function platform.monthly_allowance() is
  'The signed-in user''s token allowance this month: used, limit, remaining and when it resets; null for anonymous requests. Answered from the running monthly total.';
grant execute on function platform.monthly_allowance() to :DATABASE_AUTHENTICATED;

create function platform_backend.ensure_usage_partitions(months_ahead integer default 3) returns setof text
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  -- Definer rights: creating tables needs the owner; the platform admin (the job) may only ask.
  if months_ahead is null or months_ahead not between 0 and 36 then
    raise exception 'months_ahead must be between 0 and 36, got %', months_ahead using errcode = '22023';
  end if;
  return query
    select n from (
      select platform_private.create_usage_partition((date_trunc('month', now() at time zone 'UTC') + make_interval(months => g))::date) as n
        from generate_series(0, months_ahead) g) made
     where n is not null;
end;
$$;
comment on function platform_backend.ensure_usage_partitions(integer) is
  'Creates the usage-log partitions of this month and the next months_ahead months that do not exist yet; answers the names created. Run daily by the job queue (ensure_usage_partitions).';
grant execute on function platform_backend.ensure_usage_partitions(integer) to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.detach_usage_partitions(older_than date) returns setof text
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  part record;
  mismatched text;
begin
  if older_than is null or older_than > (date_trunc('month', now() at time zone 'UTC'))::date then
    raise exception 'only months before the current one can be detached (older_than %)', older_than using errcode = '22023';
  end if;
  for part in
    select c.oid::regclass as rel, c.relname,
           (regexp_match(c.relname, '^platform_usage_logs_y(\d{4})m(\d{2})$')) as ym
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'platform.platform_usage_logs'::regclass
     order by c.relname
  loop
    continue when part.ym is null
      or make_date(part.ym[1]::int, part.ym[2]::int, 1) + interval '1 month' > older_than;
    -- Detached rows leave every sum: refuse while the month's totals disagree with its logs.
    execute format(
      'select string_agg(coalesce(l.user_id, t.user_id)::text, '', '') from
         (select user_id, sum(tokens_used) as tokens, count(*) as events from %s group by user_id) l
         full join (select user_id, tokens_used as tokens, events from platform.usage_monthly_totals where month = %L) t using (user_id)
        where l.tokens is distinct from t.tokens or l.events is distinct from t.events',
      part.rel, make_date(part.ym[1]::int, part.ym[2]::int, 1)) into mismatched;
    if mismatched is not null then
      raise exception 'partition % is not detached: its monthly totals disagree with its logs for user(s) %', part.relname, mismatched
        using errcode = '55000';
    end if;
    execute format('alter table platform.platform_usage_logs detach partition %s', part.rel);
    execute format('alter table %s rename to %I', part.rel, part.relname || '_detached');
    return next part.relname || '_detached';
  end loop;
end;
$$;
comment on function platform_backend.detach_usage_partitions(date) is
  'Detaches the usage-log partitions of months ending on or before older_than, after checking that their monthly totals match their logs; they stay in platform_partitions as <name>_detached for archiving. Answers the names.';
grant execute on function platform_backend.detach_usage_partitions(date) to :DATABASE_PLATFORM_ADMIN;

---------------------------------------------------------------------------------------------
-- 3. Analytics for platform admins.

create schema platform_analytics;
comment on schema platform_analytics is
  'Usage and plan analytics across users, for platform admins only (security-invoker functions: the admin''s row-level security applies). Periods are [from, to) in UTC.';
grant usage on schema platform_analytics to :DATABASE_PLATFORM_ADMIN;

create function platform_analytics.daily_active_users(from_time timestamptz, to_time timestamptz)
  returns table (day date, active_users bigint, events bigint)
  language sql stable set search_path = pg_catalog
as $$
  select (l.created_at at time zone 'UTC')::date, count(distinct l.user_id), count(*)
    from platform.platform_usage_logs l
   where l.created_at >= from_time and l.created_at < to_time
   group by 1 order by 1
$$;
comment on function platform_analytics.daily_active_users(timestamptz, timestamptz) is 'Users with at least one usage event, per UTC day.';

create function platform_analytics.monthly_active_users(from_time timestamptz, to_time timestamptz)
  returns table (month date, active_users bigint, events bigint)
  language sql stable set search_path = pg_catalog
as $$
  -- From the totals, so months whose log partitions were detached still count.
  select t.month, count(*) filter (where t.events > 0), sum(t.events)::bigint
    from platform.usage_monthly_totals t
   where t.month >= date_trunc('month', from_time at time zone 'UTC')::date and t.month < (to_time at time zone 'UTC')::date
   group by 1 order by 1
$$;
comment on function platform_analytics.monthly_active_users(timestamptz, timestamptz) is 'Users with at least one usage event, per UTC month, from the monthly totals.';

create function platform_analytics.usage_by_feature(from_time timestamptz, to_time timestamptz)
  returns table (feature text, tokens_used bigint, cost_usd numeric, events bigint, users bigint)
  language sql stable set search_path = pg_catalog
as $$
  select l.feature, sum(l.tokens_used)::bigint, sum(l.cost_usd), count(*), count(distinct l.user_id)
    from platform.platform_usage_logs l
   where l.created_at >= from_time and l.created_at < to_time
   group by 1 order by 2 desc, 1
$$;
comment on function platform_analytics.usage_by_feature(timestamptz, timestamptz) is 'Tokens, cost, events and users per feature.';

create function platform_analytics.usage_by_plan(from_time timestamptz, to_time timestamptz)
  returns table (plan text, tokens_used bigint, cost_usd numeric, events bigint, users bigint)
  language sql stable set search_path = pg_catalog
as $$
  -- Each event counts for the plan the user was on when it happened (Free without one).
  select coalesce(p.name, 'Free'), sum(l.tokens_used)::bigint, sum(l.cost_usd), count(*), count(distinct l.user_id)
    from platform.platform_usage_logs l
    left join lateral (
      select s.plan_id from platform.user_subscriptions s
       where s.user_id = l.user_id and s.created_at <= l.created_at
       order by s.created_at desc limit 1) s on true
    left join platform.subscription_plans p on p.id = s.plan_id
   where l.created_at >= from_time and l.created_at < to_time
   group by 1 order by 2 desc, 1
$$;
comment on function platform_analytics.usage_by_plan(timestamptz, timestamptz) is 'Tokens, cost, events and users per plan, each event under the plan its user was on at the time.';

create function platform_analytics.plan_conversions(from_time timestamptz, to_time timestamptz)
  returns table (from_plan text, to_plan text, direction text, changes bigint, users bigint)
  language sql stable set search_path = pg_catalog
as $$
  -- Each plan change is a new subscription row: consecutive rows of one user are a change.
  select c.from_plan, c.to_plan,
         case when c.from_price = 0 and c.to_price > 0 then 'free_to_paid'
              when c.from_price > 0 and c.to_price = 0 then 'paid_to_free'
              when c.to_price > c.from_price then 'upgrade'
              when c.to_price < c.from_price then 'downgrade'
              else 'same_price' end,
         count(*), count(distinct c.user_id)
    from (select s.user_id, s.created_at,
                 lag(p.name) over w as from_plan, p.name as to_plan,
                 lag(p.price_cents) over w as from_price, p.price_cents as to_price
            from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
          window w as (partition by s.user_id order by s.created_at, s.id)) c
   where c.from_plan is not null and c.created_at >= from_time and c.created_at < to_time
   group by 1, 2, 3 order by 3, 1, 2
$$;
comment on function platform_analytics.plan_conversions(timestamptz, timestamptz) is
  'Plan changes started in the period, by from and to plan: free_to_paid, paid_to_free, upgrade, downgrade or same_price.';

create function platform_analytics.feature_adoption(from_time timestamptz, to_time timestamptz)
  returns table (feature text, users bigint, share_of_active_users numeric, new_users bigint)
  language sql stable set search_path = pg_catalog
as $$
  with period as (
    select l.user_id, l.feature from platform.platform_usage_logs l
     where l.created_at >= from_time and l.created_at < to_time
  ), active as (select count(distinct user_id) as n from period)
  select f.feature, count(*), round(count(*)::numeric / nullif((select n from active), 0), 4),
         -- Users whose first use of the feature falls in the period.
         count(*) filter (where not exists (
           select 1 from platform.platform_usage_logs e
            where e.user_id = f.user_id and e.feature = f.feature and e.created_at < from_time))
    from (select distinct user_id, feature from period) f
   group by 1 order by 2 desc, 1
$$;
comment on function platform_analytics.feature_adoption(timestamptz, timestamptz) is
  'Per feature: users who used it in the period, their share of all active users, and how many used it for the first time.';

create function platform_analytics.heaviest_users(from_time timestamptz, to_time timestamptz, max_users integer default 20)
  returns table (user_id uuid, tokens_used bigint, cost_usd numeric, events bigint)
  language sql stable set search_path = pg_catalog
as $$
  select l.user_id, sum(l.tokens_used)::bigint, sum(l.cost_usd), count(*)
    from platform.platform_usage_logs l
   where l.created_at >= from_time and l.created_at < to_time
   group by 1 order by 2 desc, 1 limit greatest(least(max_users, 1000), 1)
$$;
comment on function platform_analytics.heaviest_users(timestamptz, timestamptz, integer) is 'The users with the most tokens in the period (at most 1000).';

grant execute on all functions in schema platform_analytics to :DATABASE_PLATFORM_ADMIN;
