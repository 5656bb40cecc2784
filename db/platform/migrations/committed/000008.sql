--! Previous: sha1:5e692835c15d6fb2d026b030c7d13ed9f2cd5b93
--! Hash: sha1:afba5c5dd472aae2e9f1cc0bd1e1c059616a99e3

-- One user across two databases: erasure requested here is carried out by a
-- job (graphile-worker, installed beside the migrations by the migrate
-- commands); replays of Clerk webhooks are recognised by their delivery id.

drop function if exists platform.request_account_deletion();
drop function if exists platform_backend.complete_account_erasure(uuid, bigint);
drop function if exists platform_backend.begin_account_erasure(uuid);
drop function if exists platform_backend.request_account_deletion(uuid, text);
drop table if exists platform_backend.webhook_deliveries;
drop table if exists platform_backend.account_deletions;

create table platform_backend.account_deletions (
  user_id uuid primary key references platform.users (id) on delete cascade,
  state text not null default 'requested' check (state in ('requested', 'in_progress', 'completed')),
  requested_by text not null check (requested_by in ('user', 'operator', 'clerk')),
  requested_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  rows_erased bigint not null default 0 check (rows_erased >= 0),
  check ((state = 'completed') = (completed_at is not null))
);
alter table platform_backend.account_deletions enable row level security;
alter table platform_backend.account_deletions force row level security;
comment on table platform_backend.account_deletions is
  'Erasure of an account, from request to completion: while a row here is not completed the account signs in nowhere; once completed the user''s personal data is gone and their usage and billing rows belong to an anonymous id.';
comment on column platform_backend.account_deletions.rows_erased is 'Rows removed from the user-data database so far (batches commit one by one).';
create policy admin_all on platform_backend.account_deletions for all to :DATABASE_PLATFORM_ADMIN using (true) with check (true);
comment on policy admin_all on platform_backend.account_deletions is 'Platform admins see every erasure and the erasure job moves it along.';
grant select, update (state, started_at, completed_at, rows_erased) on platform_backend.account_deletions to :DATABASE_PLATFORM_ADMIN;

create table platform_backend.webhook_deliveries (
  delivery_id text primary key check (length(delivery_id) between 1 and 200),
  event_type text not null check (length(event_type) between 1 and 200),
  received_at timestamptz not null default now()
);
alter table platform_backend.webhook_deliveries enable row level security;
alter table platform_backend.webhook_deliveries force row level security;
comment on table platform_backend.webhook_deliveries is
  'Clerk webhook deliveries already applied, by their svix-id: a replayed delivery is acknowledged and not applied again.';
create policy admin_all on platform_backend.webhook_deliveries for all to :DATABASE_PLATFORM_ADMIN using (true) with check (true);
comment on policy admin_all on platform_backend.webhook_deliveries is 'The webhook endpoint (platform admin) records what it applied.';
grant select, insert (delivery_id, event_type) on platform_backend.webhook_deliveries to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.request_account_deletion(target_user_id uuid, requested_by text)
returns platform_backend.account_deletions
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  result platform_backend.account_deletions;
begin
  perform 1 from platform.users u where u.id = target_user_id for update;
  if not found then
    raise exception 'unknown user %', target_user_id using errcode = '22023';
  end if;
  insert into platform_backend.account_deletions (user_id, requested_by)
  values (target_user_id, request_account_deletion.requested_by)
  on conflict (user_id) do nothing;
  select * into result from platform_backend.account_deletions d where d.user_id = target_user_id;
  if result.state <> 'completed' then
    -- The queue is the outbox: the job exists exactly when this transaction commits.
    -- unsafe_dedupe keeps one job per user even while it runs: a running erasure
    -- already removes everything, and nothing new arrives (the account is refused).
    perform graphile_worker.add_job('erase_user', json_build_object('userId', target_user_id),
      job_key := 'erase_user:' || target_user_id, job_key_mode := 'unsafe_dedupe', max_attempts := 25);
    -- Every API process drops the account from its cache when this commits.
    perform pg_notify('alwrity_account_revoked', target_user_id::text);
  end if;
  return result;
end;
$$;
comment on function platform_backend.request_account_deletion(uuid, text) is
  'Starts the erasure of an account (requested_by: user, operator or clerk): from this commit on it signs in nowhere, and the erase_user job, enqueued in the same transaction, removes its data. Asking again changes nothing. Definer rights: it writes to the job queue, which the platform admin cannot.';
revoke all on function platform_backend.request_account_deletion(uuid, text) from public;
grant execute on function platform_backend.request_account_deletion(uuid, text) to :DATABASE_PLATFORM_ADMIN;

create function platform.request_account_deletion()
returns timestamptz
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  me uuid := (select platform.current_user_id());
begin
  if me is null then
    raise exception 'only a signed-in user can delete their account' using errcode = '42501';
  end if;
  return (platform_backend.request_account_deletion(me, 'user')).requested_at;
end;
$$;
comment on function platform.request_account_deletion() is
  'Deletes the signed-in user''s account and everything they stored: from now on no token of theirs is accepted; their data is erased shortly after. Returns when it was requested.';
revoke all on function platform.request_account_deletion() from public;
grant execute on function platform.request_account_deletion() to :DATABASE_AUTHENTICATED;

create function platform_backend.begin_account_erasure(target_user_id uuid)
returns text
language sql volatile
set search_path = pg_catalog
as $$
  update platform_backend.account_deletions set state = 'in_progress', started_at = now()
   where user_id = target_user_id and state = 'requested';
  select d.state from platform_backend.account_deletions d where d.user_id = target_user_id;
$$;
comment on function platform_backend.begin_account_erasure(uuid) is
  'Marks an erasure in progress and answers its state (null when none was requested). For the erase_user job.';
revoke all on function platform_backend.begin_account_erasure(uuid) from public;
grant execute on function platform_backend.begin_account_erasure(uuid) to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.complete_account_erasure(target_user_id uuid, rows_erased bigint)
returns void
language sql volatile
set search_path = pg_catalog
as $$
  -- Usage and billing rows stay for accounting, linked to an id that no longer names anyone.
  update platform.users u set clerk_id = 'erased_' || replace(u.id::text, '-', ''), email = null, display_name = null
   where u.id = target_user_id;
  update platform.user_subscriptions s
     set status = 'canceled', canceled_at = now(), current_period_end = greatest(now(), s.current_period_start + interval '1 microsecond')
   where s.user_id = target_user_id and s.status <> 'canceled';
  update platform_backend.account_deletions d
     set state = 'completed', completed_at = now(), rows_erased = d.rows_erased + complete_account_erasure.rows_erased
   where d.user_id = target_user_id and d.state <> 'completed';
$$;
comment on function platform_backend.complete_account_erasure(uuid, bigint) is
  'The last step of an erasure, once the user-data database holds nothing of the user: personal data (Clerk id, email, name) gone, live subscription canceled, state completed. For the erase_user job.';
revoke all on function platform_backend.complete_account_erasure(uuid, bigint) from public;
grant execute on function platform_backend.complete_account_erasure(uuid, bigint) to :DATABASE_PLATFORM_ADMIN;

-- register_user as the claims migration made it, refusing an account that is being erased.
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
