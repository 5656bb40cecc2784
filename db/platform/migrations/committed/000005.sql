--! Previous: sha1:72e95bf6134371d79929f5911497f77b0bee6cf6
--! Hash: sha1:46594193e045ee9901ca0ab4991d53354a1a4cd3

-- The audit log: an append-only record of security-relevant events (plan changes,
-- deletions and exports, webhook applications, admin reads of other users' data),
-- written in the transaction of the event itself, so an event is recorded if and
-- only if it happened. Platform admins read it; no API role can change or remove a
-- row (the append-only trigger stops even the owner short of disabling it).

drop trigger if exists _900_audit on platform.user_subscriptions;
drop function if exists platform_private.tg_user_subscriptions__audit();
drop function if exists platform_backend.record_audit_event(text, uuid, jsonb);
drop table if exists platform_audit.events;
drop function if exists platform_private.tg__append_only();
drop schema if exists platform_audit;

create schema platform_audit;
comment on schema platform_audit is 'The audit log; read by platform admins, written only through platform_backend.record_audit_event and triggers.';
grant usage on schema platform_audit to :DATABASE_PLATFORM_ADMIN;

create table platform_audit.events (
  id bigint generated always as identity primary key,
  -- The moment of the statement, not of the transaction: events of one transaction keep their order.
  occurred_at timestamptz not null default clock_timestamp(),
  kind text not null check (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
  -- Whose account the event concerns. No foreign key: the record outlives the account
  -- (erasure keeps it, unlinked from a person once the user row is anonymised).
  user_id uuid,
  -- Who acted: the API role the transaction ran as, and the signed-in user, if any.
  actor_role text not null,
  actor_user_id uuid,
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object')
);
comment on table platform_audit.events is 'Security-relevant events, append-only, one row each, written in the same transaction as the event.';
comment on column platform_audit.events.kind is 'What happened, as <subject>.<event>, e.g. subscription.started, user.deletion_requested, webhook.applied.';
create index events_user_id_occurred_at_idx on platform_audit.events (user_id, occurred_at);
create index events_kind_occurred_at_idx on platform_audit.events (kind, occurred_at);

alter table platform_audit.events enable row level security;
alter table platform_audit.events force row level security;
create policy select_for_platform_admins on platform_audit.events for select to :DATABASE_PLATFORM_ADMIN using (true);
comment on policy select_for_platform_admins on platform_audit.events is 'Platform admins read every event; nobody else reads any.';
grant select on platform_audit.events to :DATABASE_PLATFORM_ADMIN;

create function platform_private.tg__append_only() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'the audit log is append-only: % on %.% is not allowed', tg_op, tg_table_schema, tg_table_name
    using errcode = '42501';
end;
$$;
comment on function platform_private.tg__append_only() is 'Refuses UPDATE, DELETE and TRUNCATE on an append-only table.';
create trigger _100_append_only before update or delete on platform_audit.events
  for each row execute function platform_private.tg__append_only();
create trigger _100_append_only_truncate before truncate on platform_audit.events
  for each statement execute function platform_private.tg__append_only();

create function platform_backend.record_audit_event(event_kind text, subject_user_id uuid, event_details jsonb default '{}')
  returns bigint
  language sql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
  -- The role GUC, unlike current_user, still names the caller's role inside a definer function.
  insert into platform_audit.events (kind, user_id, actor_role, actor_user_id, details)
  values (
    event_kind,
    subject_user_id,
    coalesce(nullif(current_setting('role', true), 'none'), session_user),
    case when current_setting('app.current_user_id', true) ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
         then current_setting('app.current_user_id', true)::uuid end,
    coalesce(event_details, '{}')
  )
  returning id;
$$;
comment on function platform_backend.record_audit_event(text, uuid, jsonb) is 'Appends an event to the audit log, in the caller''s transaction; records who acted from the transaction''s role and user id.';
revoke execute on function platform_backend.record_audit_event(text, uuid, jsonb) from public;
grant execute on function platform_backend.record_audit_event(text, uuid, jsonb) to :DATABASE_PLATFORM_ADMIN;

-- Every change of plan or status is audited, whichever path made it (billing service, a
-- future payment webhook, an operator): a trigger, not each caller, writes the event.
create function platform_private.tg_user_subscriptions__audit() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' then
    perform platform_backend.record_audit_event('subscription.started', new.user_id, jsonb_build_object(
      'subscription_id', new.id, 'status', new.status,
      'plan', (select p.name from platform.subscription_plans p where p.id = new.plan_id),
      'current_period_end', new.current_period_end));
  elsif new.status is distinct from old.status or new.plan_id is distinct from old.plan_id then
    perform platform_backend.record_audit_event('subscription.changed', new.user_id, jsonb_build_object(
      'subscription_id', new.id, 'from_status', old.status, 'to_status', new.status,
      'from_plan', (select p.name from platform.subscription_plans p where p.id = old.plan_id),
      'to_plan', (select p.name from platform.subscription_plans p where p.id = new.plan_id)));
  end if;
  return null;
end;
$$;
comment on function platform_private.tg_user_subscriptions__audit() is 'Writes subscription.started and subscription.changed audit events.';
create trigger _900_audit after insert or update on platform.user_subscriptions
  for each row execute function platform_private.tg_user_subscriptions__audit();
