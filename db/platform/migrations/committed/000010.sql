--! Previous: sha1:006546e4e4841fbe6d1bd3bdaa0b1b3eeaca1c84
--! Hash: sha1:98b2ba80e14c89d75ebae4af4ead3b462491f02b

-- register_user becomes read-mostly: a known account whose claims bring nothing new is
-- returned as it is, with no new row version (no update, no timestamps trigger, no
-- subtransaction), so sign-ins after a cache miss cost a read. Everything else is as
-- migration 000008 left it.
create or replace function platform_backend.register_user(clerk_id text, email text default null, display_name text default null)
  returns platform.users
  language plpgsql
  volatile
  set search_path = pg_catalog
as $$
declare
  result platform.users;
  created boolean;
  usable_email text := case
    when length(register_user.email) <= 320 and register_user.email ~ '^[^@[:space:]]+@[^@[:space:]]+$' then register_user.email
  end;
  usable_name text := case
    when length(register_user.display_name) between 1 and 200 then register_user.display_name
  end;
begin
  -- An account being erased is refused (28000), never re-created under the erasure's feet.
  if exists (select 1 from platform.users u join platform_backend.account_deletions d on d.user_id = u.id
              where u.clerk_id = register_user.clerk_id) then
    raise exception 'this account is being deleted' using errcode = '28000';
  end if;
  -- The usual case: a known account, and claims that change nothing (absent or equal).
  select * into result from platform.users u where u.clerk_id = register_user.clerk_id;
  if found
     and (usable_email is null or usable_email = result.email)
     and (usable_name is null or usable_name = result.display_name) then
    return result;
  end if;
  if usable_email is not null and exists (
    select 1 from platform.users u where lower(u.email) = lower(usable_email) and u.clerk_id <> register_user.clerk_id
  ) then
    usable_email := null; -- another account has it: the user still gets in, without it
  end if;
  begin
    insert into platform.users as u (clerk_id, email, display_name)
    values (register_user.clerk_id, usable_email, usable_name)
    on conflict on constraint users_clerk_id_key do update
      -- Known values are kept when a request does not carry usable ones.
      set email = coalesce(excluded.email, u.email),
          display_name = coalesce(excluded.display_name, u.display_name)
    returning (u.xmax = 0) into created; -- xmax = 0: the row was inserted, not updated
  exception when unique_violation then
    -- A concurrent registration took the email between the check and the insert.
    insert into platform.users as u (clerk_id, email, display_name)
    values (register_user.clerk_id, null, usable_name)
    on conflict on constraint users_clerk_id_key do update
      set display_name = coalesce(excluded.display_name, u.display_name)
    returning (u.xmax = 0) into created;
  end;
  if created then
    insert into platform.user_subscriptions (user_id, plan_id)
    select u.id, p.id from platform.users u, platform.subscription_plans p
     where u.clerk_id = register_user.clerk_id and p.name = 'Free';
  end if;
  select * into result from platform.users u where u.clerk_id = register_user.clerk_id;
  return result;
end;
$$;
comment on function platform_backend.register_user(text, text, text) is
  'Finds or creates the account of a Clerk user; a new account starts on the Free plan; a known account whose claims change nothing is only read. Claims that are not valid (malformed or taken email, name outside 1..200 characters) are stored as null, never refused. Refuses an account being erased (28000). For the API''s sign-in path and Clerk webhooks (platform admin).';
