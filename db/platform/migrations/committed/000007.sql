--! Previous: sha1:0d0bf06795403c725133d680f9f30d1aa96fea2e
--! Hash: sha1:5e692835c15d6fb2d026b030c7d13ed9f2cd5b93

-- Sign-in never fails because of a claim, and anonymous callers see only public plans.

-- register_user keeps what is valid in the claims and drops the rest: an email
-- that is malformed, too long or already another account's is stored as null,
-- a display name outside 1..200 characters likewise. The Clerk id alone is the
-- identity, so an odd claim (or someone squatting an email) never locks a user
-- out. The API compares the result with the claims and logs what was dropped.
drop function if exists platform_backend.register_user(text, text, text);
create function platform_backend.register_user(clerk_id text, email text default null, display_name text default null)
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
  'Finds or creates the account of a Clerk user; a new account starts on the Free plan. Claims that are not valid (malformed or taken email, name outside 1..200 characters) are stored as null, never refused. For the API''s sign-in path (platform admin).';
revoke all on function platform_backend.register_user(text, text, text) from public;
grant execute on function platform_backend.register_user(text, text, text) to :DATABASE_PLATFORM_ADMIN;

-- Plans: anonymous callers read the public ones; a signed-in user also the plan
-- they subscribe to; the admin every plan.
alter table platform.subscription_plans enable row level security;
alter table platform.subscription_plans force row level security;
drop policy if exists select_public on platform.subscription_plans;
drop policy if exists select_public_or_own on platform.subscription_plans;
drop policy if exists admin_all on platform.subscription_plans;
create policy select_public on platform.subscription_plans for select to :DATABASE_ANONYMOUS
  using (is_public);
create policy select_public_or_own on platform.subscription_plans for select to :DATABASE_AUTHENTICATED
  using (is_public or id in (select s.plan_id from platform.user_subscriptions s where s.user_id = (select platform.current_user_id())));
create policy admin_all on platform.subscription_plans for all to :DATABASE_PLATFORM_ADMIN
  using (true) with check (true);
comment on policy select_public on platform.subscription_plans is 'Anonymous callers see only the plans on offer.';
comment on policy select_public_or_own on platform.subscription_plans is 'A signed-in user sees the plans on offer and the plan they subscribe to.';
comment on policy admin_all on platform.subscription_plans is 'The platform admin manages every plan.';
