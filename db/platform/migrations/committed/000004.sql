--! Previous: sha1:4928c1d718f4f11e7d44a79ab8daaeaf4c69cfb7
--! Hash: sha1:72e95bf6134371d79929f5911497f77b0bee6cf6

-- 1. API naming lives in db/platform/postgraphile.tags.json5 (PostGraphile's tags
-- file) from now on: renaming something in the API changes no migration. The
-- comments 000002 turned into smart tags are plain descriptions again.
comment on constraint user_subscriptions_plan_id_fkey on platform.user_subscriptions is null;
comment on constraint user_subscriptions_user_id_fkey on platform.user_subscriptions is null;
comment on constraint platform_usage_logs_user_id_fkey on platform.platform_usage_logs is null;
comment on table platform.platform_usage_logs is
  'One row per billable AI operation: the basis of usage analytics and fair-use limits. Append-only for everyone but the platform admin.';
comment on function platform.current_user_id() is
  'The signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select platform.current_user_id()) so it runs once per statement.';

-- 2. What only trusted backend services call (as the platform admin) leaves the
-- schema the API introspects: platform_backend is never shown by the API, so
-- these functions are out of it by construction, not only by grants.
create schema if not exists platform_backend;
comment on schema platform_backend is
  'Functions for trusted backend services (the platform admin): registering users, recording usage, changing plans. The GraphQL API never introspects it.';
grant usage on schema platform_backend to :DATABASE_PLATFORM_ADMIN;

-- Moved as they are (grants and comments go with them); record_usage is made
-- anew, since its body names plan_limits' schema.
alter function platform.change_subscription(uuid, text, timestamptz) set schema platform_backend;
alter function platform.register_user(text, text, text) set schema platform_backend;
alter function platform.plan_limits(uuid) set schema platform_backend;
drop function platform.record_usage(uuid, text, bigint, numeric, jsonb);

create function platform_backend.record_usage(
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
  monthly_limit := (platform_backend.plan_limits(target_user_id) ->> 'monthly_tokens')::bigint;
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
comment on function platform_backend.record_usage(uuid, text, bigint, numeric, jsonb) is
  'Records one billable operation, refusing it (SQLSTATE 53400) when it would take the user past their plan''s monthly token limit. For services (platform admin).';
grant execute on function platform_backend.record_usage(uuid, text, bigint, numeric, jsonb) to :DATABASE_PLATFORM_ADMIN;

-- 3. A SECURITY DEFINER function resolves names through its own search_path;
-- pg_temp last keeps a caller's temporary objects from shadowing anything.
alter function platform_private.tg_user_subscriptions__sync_user_status() set search_path = pg_catalog, pg_temp;
