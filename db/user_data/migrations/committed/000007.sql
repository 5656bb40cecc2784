--! Previous: sha1:a7a4e1b0e2269da221b08ece86de5e2b9b8b4531
--! Hash: sha1:ac291ad1b84572d6e8d13a4dbae87491f032b0c9

-- Entitlements: the limits of each user's plan, carried here from the platform
-- database by the job queue (sync_entitlements), so that this database itself
-- refuses a project or persona beyond them, whoever the client is.
-- Self-contained: drops what it creates first.

drop trigger if exists _300_within_plan on user_data.user_personas;
drop trigger if exists _300_within_plan on user_data.user_projects;
drop function if exists user_data_private.tg__within_plan();
drop function if exists user_data.current_entitlements();
drop function if exists user_data_backend.forget_entitlements(uuid);
drop function if exists user_data_backend.apply_entitlements(uuid, text, bigint, bigint, bigint, bigint);
drop function if exists user_data_private.entitlements_of(uuid);
drop type if exists user_data.entitlement_status;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists user_data.user_entitlements;
drop schema if exists user_data_backend;

create schema user_data_backend;
comment on schema user_data_backend is 'Functions the job worker calls (entitlements); never exposed to the API, usable by the worker role only.';
grant usage on schema user_data_backend to :DATABASE_WORKER;

create table user_data.user_entitlements (
  user_id uuid not null default user_data.current_user_id(),
  plan_name text not null check (length(plan_name) between 1 and 50),
  max_projects bigint check (max_projects >= 0),
  max_personas bigint check (max_personas >= 0),
  monthly_tokens bigint check (monthly_tokens >= 0),
  version bigint not null check (version >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id)
);
comment on table user_data.user_entitlements is
  'The limits of each user''s plan, as the platform last sent them (null = unlimited). A user without a row is held to the Free plan''s limits. Written only by the job worker, through user_data_backend.apply_entitlements.';
comment on column user_data.user_entitlements.version is 'The platform''s count of the user''s subscription changes: a sync carrying a lower one is stale and ignored.';

create trigger _100_timestamps before insert or update on user_data.user_entitlements
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_entitlements
  for each row execute function user_data_private.tg__user_id_immutable();

alter table user_data.user_entitlements enable row level security;
alter table user_data.user_entitlements force row level security;
create policy select_own on user_data.user_entitlements for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
-- The worker holds no rights on the table (it writes through the definer function); these
-- policies name who writes, and keep any future grant to the worker to one user per transaction.
create policy insert_by_worker on user_data.user_entitlements for insert to :DATABASE_WORKER
  with check (user_id = (select user_data.current_user_id()));
create policy update_by_worker on user_data.user_entitlements for update to :DATABASE_WORKER
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_by_worker on user_data.user_entitlements for delete to :DATABASE_WORKER
  using (user_id = (select user_data.current_user_id()));
comment on policy select_own on user_data.user_entitlements is 'A signed-in user reads their own limits, never changes them.';
comment on policy insert_by_worker on user_data.user_entitlements is 'Only the job worker writes entitlements (through apply_entitlements).';
comment on policy update_by_worker on user_data.user_entitlements is 'Only the job worker writes entitlements (through apply_entitlements).';
comment on policy delete_by_worker on user_data.user_entitlements is 'Only the job worker writes entitlements (through apply_entitlements).';
grant select on user_data.user_entitlements to :DATABASE_AUTHENTICATED;

-- The Free plan's limits, for a user the platform has not reached yet. Kept in
-- step with the platform's Free plan by hand (the two databases share nothing);
-- a test compares them.
create function user_data_private.entitlements_of(target_user_id uuid) returns user_data.user_entitlements
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  result user_data.user_entitlements;
begin
  select * into result from user_data.user_entitlements e where e.user_id = target_user_id;
  if not found then
    result := row(target_user_id, 'Free', 3, 1, 50000, 0, now(), now())::user_data.user_entitlements;
  end if;
  return result;
end;
$$;
comment on function user_data_private.entitlements_of(uuid) is 'A user''s entitlements, or the Free plan''s when none arrived yet.';

create function user_data_backend.apply_entitlements(
  target_user_id uuid,
  plan_name text,
  max_projects bigint,
  max_personas bigint,
  monthly_tokens bigint,
  version bigint
) returns table (applied boolean, projects bigint, personas bigint)
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  stored bigint;
begin
  -- The same lock as the limit triggers: a create at the limit waits for the new limits or sees the old.
  perform pg_catalog.pg_advisory_xact_lock(1366, hashtext(target_user_id::text));
  insert into user_data.user_entitlements as e (user_id, plan_name, max_projects, max_personas, monthly_tokens, version, updated_at)
  values (target_user_id, apply_entitlements.plan_name, apply_entitlements.max_projects, apply_entitlements.max_personas,
          apply_entitlements.monthly_tokens, apply_entitlements.version, now())
  on conflict (user_id) do update
    set plan_name = excluded.plan_name, max_projects = excluded.max_projects, max_personas = excluded.max_personas,
        monthly_tokens = excluded.monthly_tokens, version = excluded.version, updated_at = now()
    where e.version <= excluded.version
  returning e.version into stored;
  return query select stored is not null,
    (select count(*) from user_data.user_projects p where p.user_id = target_user_id),
    (select count(*) from user_data.user_personas p where p.user_id = target_user_id);
end;
$$;
comment on function user_data_backend.apply_entitlements(uuid, text, bigint, bigint, bigint, bigint) is
  'Stores a user''s plan limits unless a newer version is stored already (applied = false), and answers how many projects and personas the user has, for the platform''s over-limit report. For the sync_entitlements job (worker role).';
revoke all on function user_data_backend.apply_entitlements(uuid, text, bigint, bigint, bigint, bigint) from public;
grant execute on function user_data_backend.apply_entitlements(uuid, text, bigint, bigint, bigint, bigint) to :DATABASE_WORKER;

create function user_data_backend.forget_entitlements(target_user_id uuid) returns boolean
  language sql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
  with gone as (delete from user_data.user_entitlements e where e.user_id = target_user_id returning 1)
  select exists (select 1 from gone)
$$;
comment on function user_data_backend.forget_entitlements(uuid) is
  'Removes a user''s entitlements (an account being erased keeps nothing here); answers whether there were any. For the sync_entitlements job (worker role).';
revoke all on function user_data_backend.forget_entitlements(uuid) from public;
grant execute on function user_data_backend.forget_entitlements(uuid) to :DATABASE_WORKER;

-- A project or persona beyond the plan's limit is refused here, whoever inserts it.
-- Inserts of one user are serialised by an advisory lock taken in the trigger, so two
-- concurrent creates at the limit cannot both see room for one more.
create function user_data_private.tg__within_plan() returns trigger
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  limits user_data.user_entitlements;
  allowed bigint;
  existing bigint;
  thing text := case tg_table_name when 'user_projects' then 'project' else 'persona' end;
begin
  -- Rows are created by their user (row-level security refuses anyone else's, after this
  -- trigger): a row for another user is left to that refusal, so this says nothing about
  -- their counts. The owner's bulk loads and migrations (no user set) are not held to plans.
  if new.user_id is null or new.user_id is distinct from user_data.current_user_id() then
    return new;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(1366, hashtext(new.user_id::text));
  limits := user_data_private.entitlements_of(new.user_id);
  allowed := case tg_table_name when 'user_projects' then limits.max_projects else limits.max_personas end;
  if allowed is null then
    return new; -- unlimited
  end if;
  -- After the lock, this statement's snapshot sees every create committed before it.
  if tg_table_name = 'user_projects' then
    select count(*) into existing from user_data.user_projects p where p.user_id = new.user_id;
  else
    select count(*) into existing from user_data.user_personas p where p.user_id = new.user_id;
  end if;
  if existing >= allowed then
    raise exception '% limit reached: the % plan allows % %s (max_%s = %), and % exist',
      thing, limits.plan_name, allowed, thing, thing, allowed, existing
      using errcode = '53400',
            detail = format('limit max_%ss, value %s, plan %s', thing, allowed, limits.plan_name),
            hint = format('Upgrade the plan, or delete a %s first.', thing);
  end if;
  return new;
end;
$$;
comment on function user_data_private.tg__within_plan() is
  'Refuses (SQLSTATE 53400, naming the limit, its value and the plan) a project or persona the signed-in user would create beyond their max_projects / max_personas. Definer rights: it reads the entitlements through a private helper.';
create trigger _300_within_plan before insert on user_data.user_projects
  for each row execute function user_data_private.tg__within_plan();
create trigger _300_within_plan before insert on user_data.user_personas
  for each row execute function user_data_private.tg__within_plan();

create type user_data.entitlement_status as (
  plan_name text,
  max_projects bigint,
  projects bigint,
  max_personas bigint,
  personas bigint,
  over_limit boolean
);
comment on type user_data.entitlement_status is 'The signed-in user''s plan limits and what they use of them.';
comment on column user_data.entitlement_status.over_limit is
  'True when the user holds more projects or personas than the plan allows (after a downgrade): nothing is deleted, but nothing more can be created until they are under it.';

create function user_data.current_entitlements() returns user_data.entitlement_status
  language sql stable
  security definer
  set search_path = pg_catalog, pg_temp
as $$
  -- Definer rights for the Free fallback (a private helper); every read names the signed-in user.
  select e.plan_name, e.max_projects, c.projects, e.max_personas, c.personas,
         c.projects > coalesce(e.max_projects, c.projects) or c.personas > coalesce(e.max_personas, c.personas)
    from (select user_data.current_user_id() as me) m,
         lateral user_data_private.entitlements_of(m.me) e,
         lateral (select (select count(*) from user_data.user_projects p where p.user_id = m.me) as projects,
                         (select count(*) from user_data.user_personas p where p.user_id = m.me) as personas) c
   where m.me is not null
$$;
comment on function user_data.current_entitlements() is
  'The signed-in user''s plan limits, how many projects and personas they have, and whether they are over a limit.';
revoke all on function user_data.current_entitlements() from public;
grant execute on function user_data.current_entitlements() to :DATABASE_AUTHENTICATED;
