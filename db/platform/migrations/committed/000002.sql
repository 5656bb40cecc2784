--! Previous: sha1:66a44cb1c6a7009367c6fe8aacc90ba68e9da0c4
--! Hash: sha1:e4d611efc337ddac0851b8e166e2955a9b5f50b6

-- The GraphQL API's view of the platform database, and accounts whose email is
-- not known yet (Clerk session tokens carry an email only when the instance's
-- session token template adds it).

alter table platform.users alter column email drop not null;
comment on column platform.users.email is 'Unique regardless of letter case; null until Clerk has told us.';

drop function if exists platform.register_user(text, text, text);
create function platform.register_user(clerk_id text, email text default null, display_name text default null)
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
    -- Known values are kept when a request does not carry them.
    set email = coalesce(excluded.email, u.email),
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
grant execute on function platform.register_user(text, text, text) to :DATABASE_PLATFORM_ADMIN;

drop function if exists platform.current_user();
create function platform.current_user() returns platform.users
  language sql stable
  set search_path = pg_catalog
as $$
  select u.* from platform.users u where u.id = (select platform.current_user_id())
$$;
comment on function platform.current_user() is 'The signed-in user''s account; null for anonymous requests.';
grant execute on function platform.current_user() to :DATABASE_AUTHENTICATED;

drop function if exists platform.current_subscription();
create function platform.current_subscription() returns platform.user_subscriptions
  language sql stable
  set search_path = pg_catalog
as $$
  select s.* from platform.user_subscriptions s
   where s.user_id = (select platform.current_user_id()) and s.status in ('trialing', 'active', 'past_due')
$$;
comment on function platform.current_subscription() is 'The signed-in user''s live subscription (with its plan); null when they have none.';
grant execute on function platform.current_subscription() to :DATABASE_AUTHENTICATED;

-- API names: the foreign keys read as relations.
comment on constraint user_subscriptions_plan_id_fkey on platform.user_subscriptions is E'@fieldName plan\n@foreignFieldName subscriptions';
comment on constraint user_subscriptions_user_id_fkey on platform.user_subscriptions is E'@fieldName user\n@foreignFieldName subscriptions';
comment on constraint platform_usage_logs_user_id_fkey on platform.platform_usage_logs is E'@fieldName user\n@foreignFieldName usageLogs';
comment on table platform.platform_usage_logs is E'@name usage_log\nOne row per billable AI operation: the basis of usage analytics and fair-use limits. Append-only for everyone but the platform admin.';
comment on function platform.current_user_id() is
  E'@behavior -queryField\nThe signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select platform.current_user_id()) so it runs once per statement.';
