--! Previous: sha1:84b2f529516720ada9e9f7933b32bbe4be5cb715
--! Hash: sha1:27ab1230fa2e8a9d4c1da4ae5f8e351a6037b92f

-- Plans that mean something: every plan change is a kept record (immediate for
-- upgrades, scheduled for the end of the period for downgrades and cancels, and
-- applied then by a job), every subscription row is history that is never
-- deleted, each change enqueues the sync of the user's entitlements to the
-- user-data database in its own transaction, and Stripe (the payment provider)
-- is linked per user. Self-contained: drops what it creates first.

drop view if exists platform_backend.over_limit_report;
drop trigger if exists _600_sync_entitlements on platform.user_subscriptions;
drop trigger if exists _150_history_kept on platform.user_subscriptions;
drop trigger if exists _100_transitions on platform.plan_changes;
drop function if exists platform_backend.record_entitlement_sync(uuid, bigint, bigint, bigint);
drop function if exists platform_backend.entitlements_of(uuid);
drop function if exists platform_private.enqueue_plan_change(platform.plan_changes);
drop function if exists platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz);
drop function if exists platform_backend.apply_stripe_checkout(uuid, text, text, text, timestamptz);
drop function if exists platform_backend.link_stripe_customer(uuid, text, text);
drop function if exists platform_backend.apply_plan_change(uuid);
drop function if exists platform_backend.change_plan(uuid, text, text, timestamptz, boolean);
drop function if exists platform.my_plan_changes();
drop function if exists platform_private.start_subscription(uuid, uuid, timestamptz);
drop function if exists platform_private.tg_user_subscriptions__sync_entitlements();
drop function if exists platform_private.tg_user_subscriptions__history_kept();
drop function if exists platform_private.tg_plan_changes__transitions();
drop function if exists platform_private.plan_rank(uuid);
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.entitlement_syncs;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.entitlement_versions;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.billing_accounts;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform.plan_changes;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-column
alter table platform_backend.webhook_deliveries drop column if exists source;

--------------------------------------------------------------------------------
-- 1. Webhook deliveries from more than one provider (Stripe event ids, evt_…,
-- never look like svix ids, msg_…, so the id alone stays the key).
-- reason: a constant default is a catalog-only change (PostgreSQL 11+), no rewrite
-- squawk-ignore adding-field-with-default
alter table platform_backend.webhook_deliveries add column source text not null default 'clerk' check (source in ('clerk', 'stripe'));
comment on column platform_backend.webhook_deliveries.source is 'Who sent the delivery: clerk (svix-id) or stripe (the event id).';
comment on table platform_backend.webhook_deliveries is
  'Webhook deliveries already applied (Clerk by svix-id, Stripe by event id): a replayed delivery is acknowledged and not applied again.';
grant insert (source) on platform_backend.webhook_deliveries to :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- 2. Plan changes: requested, scheduled, applied or superseded; never deleted.
create table platform.plan_changes (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references platform.users (id) on delete cascade,
  from_plan_id uuid references platform.subscription_plans (id) on delete restrict,
  to_plan_id uuid not null references platform.subscription_plans (id) on delete restrict,
  kind text not null check (kind in ('upgrade', 'downgrade', 'cancel', 'renewal')),
  source text not null check (source in ('admin', 'stripe', 'system')),
  state text not null check (state in ('scheduled', 'applied', 'superseded')),
  -- The clock, not the transaction's start: changes within one transaction keep their order.
  requested_at timestamptz not null default clock_timestamp(),
  effective_at timestamptz not null,
  settled_at timestamptz,
  subscription_id uuid references platform.user_subscriptions (id) on delete restrict,
  primary key (user_id, id),
  check ((state = 'scheduled') = (settled_at is null)),
  check ((state = 'applied') = (subscription_id is not null))
);
comment on table platform.plan_changes is
  'Every plan change a user had, newest last: upgrades apply at once, downgrades and cancels are scheduled for the end of the paid period and applied then by a job. Rows are never deleted; a scheduled change only ever becomes applied or superseded.';
comment on column platform.plan_changes.kind is 'upgrade (applied at once), downgrade or cancel (at the period''s end; cancel means Free), renewal (same plan, new period).';
comment on column platform.plan_changes.source is 'Who asked: stripe (a webhook), admin (a platform service or operator), system.';
comment on column platform.plan_changes.effective_at is 'When the change takes (took) effect.';
comment on column platform.plan_changes.subscription_id is 'The subscription the change started, once applied.';
-- At most one change waits per user: a new request supersedes the one waiting.
create unique index plan_changes_one_scheduled_per_user on platform.plan_changes (user_id) where state = 'scheduled';
create index plan_changes_user_requested_idx on platform.plan_changes (user_id, requested_at desc);
create index plan_changes_to_plan_idx on platform.plan_changes (to_plan_id);
create index plan_changes_from_plan_idx on platform.plan_changes (from_plan_id);
create index plan_changes_subscription_idx on platform.plan_changes (subscription_id);

create function platform_private.tg_plan_changes__transitions() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  -- History is kept as it was: only a scheduled change moves on, once, and only its state does.
  if old.state <> 'scheduled' then
    raise exception 'plan change % is % and is kept as it is', old.id, old.state using errcode = '42501';
  end if;
  if (new.user_id, new.from_plan_id, new.to_plan_id, new.kind, new.source, new.requested_at, new.effective_at)
     is distinct from (old.user_id, old.from_plan_id, old.to_plan_id, old.kind, old.source, old.requested_at, old.effective_at) then
    raise exception 'a plan change''s request is kept as it was made; only its state moves on' using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function platform_private.tg_plan_changes__transitions() is 'Lets a scheduled plan change become applied or superseded, once, and changes nothing else.';
create trigger _100_transitions before update on platform.plan_changes
  for each row execute function platform_private.tg_plan_changes__transitions();

alter table platform.plan_changes enable row level security;
alter table platform.plan_changes force row level security;
create policy select_own on platform.plan_changes for select to :DATABASE_AUTHENTICATED
  using (user_id = (select platform.current_user_id()));
create policy admin_select on platform.plan_changes for select to :DATABASE_PLATFORM_ADMIN using (true);
create policy admin_insert on platform.plan_changes for insert to :DATABASE_PLATFORM_ADMIN with check (true);
create policy admin_update on platform.plan_changes for update to :DATABASE_PLATFORM_ADMIN using (true) with check (true);
comment on policy select_own on platform.plan_changes is 'A signed-in user sees their own plan changes, past and scheduled.';
comment on policy admin_select on platform.plan_changes is 'Platform admins see every plan change.';
comment on policy admin_insert on platform.plan_changes is 'The billing service records plan changes.';
comment on policy admin_update on platform.plan_changes is 'The billing service settles scheduled changes (the trigger allows nothing else).';
-- No role holds DELETE on the table either; the policy says so where policies are read.
create policy no_delete on platform.plan_changes for delete to :DATABASE_PLATFORM_ADMIN using (false);
comment on policy no_delete on platform.plan_changes is 'Plan changes are history: nobody deletes them (only an account''s own removal cascades).';
grant select on platform.plan_changes to :DATABASE_AUTHENTICATED, :DATABASE_PLATFORM_ADMIN;
grant insert (user_id, from_plan_id, to_plan_id, kind, source, state, effective_at, settled_at, subscription_id),
      update (state, settled_at, subscription_id)
  on platform.plan_changes to :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- 3. Subscriptions are history: never deleted (only an account's own removal
-- cascades), and a canceled one is frozen.
revoke delete on platform.user_subscriptions from :DATABASE_PLATFORM_ADMIN;

create function platform_private.tg_user_subscriptions__history_kept() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  if old.status = 'canceled' then
    raise exception 'subscription % ended and is kept as it was', old.id using errcode = '42501';
  end if;
  if new.plan_id is distinct from old.plan_id or new.current_period_start is distinct from old.current_period_start then
    raise exception 'a subscription''s plan and start are kept; a plan change starts a new subscription' using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function platform_private.tg_user_subscriptions__history_kept() is
  'A subscription keeps its plan and start for ever (a change starts a new one), and once canceled it changes no more.';
create trigger _150_history_kept before update on platform.user_subscriptions
  for each row execute function platform_private.tg_user_subscriptions__history_kept();

-- Whatever changes a user's subscription (a plan change, registration, erasure,
-- an operator), the sync of their entitlements is enqueued in the same
-- transaction: the queue is the outbox. One pending job per user is enough,
-- since the job reads the plan as it is when it runs.
create table platform_backend.entitlement_versions (
  user_id uuid not null primary key references platform.users (id) on delete cascade,
  version bigint not null check (version > 0)
);
comment on table platform_backend.entitlement_versions is
  'Counts each user''s subscription changes. The row lock orders concurrent changes, so versions grow in commit order: the user-data database keeps the entitlements of the highest version it was given, whatever order the jobs run in.';
alter table platform_backend.entitlement_versions enable row level security;
alter table platform_backend.entitlement_versions force row level security;
create policy admin_select on platform_backend.entitlement_versions for select to :DATABASE_PLATFORM_ADMIN using (true);
comment on policy admin_select on platform_backend.entitlement_versions is 'Platform admins and the sync job read versions; only the trigger writes them.';
grant select on platform_backend.entitlement_versions to :DATABASE_PLATFORM_ADMIN;

create function platform_private.tg_user_subscriptions__sync_entitlements() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  insert into platform_backend.entitlement_versions as v (user_id, version) values (new.user_id, 1)
  on conflict (user_id) do update set version = v.version + 1;
  perform graphile_worker.add_job('sync_entitlements', json_build_object('userId', new.user_id),
    job_key := 'sync_entitlements:' || new.user_id, max_attempts := 25);
  return null;
end;
$$;
comment on function platform_private.tg_user_subscriptions__sync_entitlements() is
  'Enqueues sync_entitlements for the user whose subscription changed, in the same transaction. Definer rights: the job queue is not the platform admin''s to write.';
create trigger _600_sync_entitlements after insert or update on platform.user_subscriptions
  for each row execute function platform_private.tg_user_subscriptions__sync_entitlements();

--------------------------------------------------------------------------------
-- 4. Changing plans.
create function platform_private.plan_rank(plan uuid) returns bigint
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  -- Dearer per month is higher; a yearly price counts as a twelfth a month.
  select case when p.billing_interval = 'year' then p.price_cents / 12 else p.price_cents end::bigint * 1000 + p.sort_order
    from platform.subscription_plans p where p.id = plan
$$;
comment on function platform_private.plan_rank(uuid) is 'Orders plans by monthly price (then sort_order): a change to a higher rank is an upgrade.';

create function platform_private.start_subscription(target_user_id uuid, plan uuid, period_end timestamptz)
  returns platform.user_subscriptions
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
declare
  result platform.user_subscriptions;
begin
  -- The caller holds the user's row lock: one plan change at a time per user.
  update platform.user_subscriptions
     set status = 'canceled', canceled_at = now(), current_period_end = greatest(now(), current_period_start + interval '1 microsecond')
   where user_id = target_user_id and status <> 'canceled';
  insert into platform.user_subscriptions (user_id, plan_id, status, current_period_end)
  values (target_user_id, plan, 'active', greatest(coalesce(period_end, now() + interval '1 month'), now() + interval '1 second'))
  returning * into result;
  return result;
end;
$$;
comment on function platform_private.start_subscription(uuid, uuid, timestamptz) is 'Ends the live subscription and starts one on a plan; the caller holds the user''s row lock.';

create function platform_backend.change_plan(
  target_user_id uuid,
  plan_name text,
  source text default 'admin',
  period_end timestamptz default null,
  at_period_end boolean default null
) returns platform.plan_changes
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  target platform.subscription_plans;
  live platform.user_subscriptions;
  change_kind text;
  deferred boolean;
  result platform.plan_changes;
begin
  select * into target from platform.subscription_plans p where p.name = plan_name;
  if not found then
    raise exception 'unknown subscription plan "%"', plan_name using errcode = '22023';
  end if;
  -- Serialise plan changes per user: exactly one current subscription, whatever runs at once.
  perform 1 from platform.users u where u.id = target_user_id for update;
  if not found then
    raise exception 'unknown user %', target_user_id using errcode = '22023';
  end if;
  select * into live from platform.user_subscriptions s
   where s.user_id = target_user_id and s.status in ('trialing', 'active', 'past_due');

  -- Whatever was waiting is replaced by this request.
  update platform.plan_changes c set state = 'superseded', settled_at = clock_timestamp()
   where c.user_id = target_user_id and c.state = 'scheduled';

  if live.id is not null and live.plan_id = target.id then
    -- Same plan: a renewal moves the period's end; nothing else changes.
    if period_end is not null and period_end > live.current_period_end then
      update platform.user_subscriptions s set current_period_end = period_end where s.id = live.id;
    end if;
    insert into platform.plan_changes (user_id, from_plan_id, to_plan_id, kind, source, state, effective_at, settled_at, subscription_id)
    values (target_user_id, live.plan_id, target.id, 'renewal', change_plan.source, 'applied', clock_timestamp(), clock_timestamp(), live.id)
    returning * into result;
    return result;
  end if;

  change_kind := case
    when live.id is null or platform_private.plan_rank(target.id) > platform_private.plan_rank(live.plan_id) then 'upgrade'
    when target.name = 'Free' then 'cancel'
    else 'downgrade' end;
  -- Upgrades take effect at once; downgrades and cancels when the paid period ends.
  -- Stripe's period end is the authority when it is given.
  deferred := coalesce(at_period_end, change_kind <> 'upgrade') and live.id is not null
              and coalesce(period_end, live.current_period_end) > now();

  if deferred then
    insert into platform.plan_changes (user_id, from_plan_id, to_plan_id, kind, source, state, effective_at)
    values (target_user_id, live.plan_id, target.id, change_kind, change_plan.source, 'scheduled', coalesce(period_end, live.current_period_end))
    returning * into result;
    -- The job exists exactly when this commits, due when the period ends; retried until it succeeds.
    perform platform_private.enqueue_plan_change(result);
  else
    insert into platform.plan_changes (user_id, from_plan_id, to_plan_id, kind, source, state, effective_at, settled_at, subscription_id)
    values (target_user_id, live.plan_id, target.id, change_kind, change_plan.source, 'applied', clock_timestamp(), clock_timestamp(),
            (platform_private.start_subscription(target_user_id, target.id, period_end)).id)
    returning * into result;
  end if;
  return result;
end;
$$;
comment on function platform_backend.change_plan(uuid, text, text, timestamptz, boolean) is
  'Moves a user to a plan and records the change (definer rights: it starts subscriptions and enqueues jobs through private helpers): an upgrade starts at once, a downgrade or cancel (to Free) is scheduled for the end of the current period (at_period_end overrides either way), a request for the current plan is a renewal (period_end moves the period''s end). A new request supersedes one waiting. For the billing service (platform admin).';
revoke all on function platform_backend.change_plan(uuid, text, text, timestamptz, boolean) from public;
grant execute on function platform_backend.change_plan(uuid, text, text, timestamptz, boolean) to :DATABASE_PLATFORM_ADMIN;

create function platform_private.enqueue_plan_change(change platform.plan_changes) returns void
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform graphile_worker.add_job('apply_plan_change', json_build_object('changeId', change.id, 'userId', change.user_id),
    run_at := change.effective_at, job_key := 'apply_plan_change:' || change.user_id, max_attempts := 25);
end;
$$;
comment on function platform_private.enqueue_plan_change(platform.plan_changes) is
  'Enqueues apply_plan_change for a scheduled change, due at its effective time; one per user (a newer change replaces the job). Definer rights: the job queue is not the platform admin''s to write.';
revoke all on function platform_private.enqueue_plan_change(platform.plan_changes) from public;

create function platform_backend.apply_plan_change(change_id uuid) returns text
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  change platform.plan_changes;
begin
  select * into change from platform.plan_changes c where c.id = change_id;
  if not found then
    return 'unknown';
  end if;
  perform 1 from platform.users u where u.id = change.user_id for update;
  -- Read again under the user's lock: a concurrent request may have settled it.
  select * into change from platform.plan_changes c where c.id = change_id;
  if change.state <> 'scheduled' then
    return change.state; -- applied or superseded already: running again changes nothing
  end if;
  -- The clock, not the transaction's start: a job that waited on the user's lock is still due.
  if change.effective_at > clock_timestamp() then
    return 'not_due';
  end if;
  update platform.plan_changes c
     set state = 'applied', settled_at = clock_timestamp(),
         subscription_id = (platform_private.start_subscription(change.user_id, change.to_plan_id, null)).id
   where c.id = change_id;
  return 'applied';
end;
$$;
comment on function platform_backend.apply_plan_change(uuid) is
  'Applies a scheduled plan change once it is due; answers applied, or the state it already had (superseded, applied), not_due or unknown. Idempotent. For the apply_plan_change job (platform admin).';
revoke all on function platform_backend.apply_plan_change(uuid) from public;
grant execute on function platform_backend.apply_plan_change(uuid) to :DATABASE_PLATFORM_ADMIN;

-- The immediate change of before, now recorded like every other (history) and
-- replacing anything scheduled.
create or replace function platform_backend.change_subscription(
  target_user_id uuid,
  plan_name text,
  period_end timestamptz default now() + interval '1 month'
) returns platform.user_subscriptions
  language plpgsql
  volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  change platform.plan_changes;
  result platform.user_subscriptions;
begin
  change := platform_backend.change_plan(target_user_id, plan_name, 'admin', period_end, false);
  select * into result from platform.user_subscriptions s where s.id = change.subscription_id;
  return result;
end;
$$;
comment on function platform_backend.change_subscription(uuid, text, timestamptz) is
  'Moves a user to a plan at once, whether up or down (an operator''s correction), recorded in plan_changes. For the billing service (platform admin).';

create function platform.my_plan_changes() returns setof platform.plan_changes
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  select c.* from platform.plan_changes c
   where c.user_id = (select platform.current_user_id())
   order by c.requested_at, c.id
$$;
comment on function platform.my_plan_changes() is 'The signed-in user''s plan changes, oldest first, including one scheduled for the end of the period.';
revoke all on function platform.my_plan_changes() from public;
grant execute on function platform.my_plan_changes() to :DATABASE_AUTHENTICATED;

--------------------------------------------------------------------------------
-- 5. Stripe: which customer and subscription belong to which user.
create table platform_backend.billing_accounts (
  user_id uuid not null primary key references platform.users (id) on delete cascade,
  stripe_customer_id text not null unique check (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,200}$'),
  stripe_subscription_id text check (stripe_subscription_id ~ '^sub_[A-Za-z0-9]{1,200}$'),
  stripe_status text,
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table platform_backend.billing_accounts is
  'A user''s Stripe customer and subscription, and the creation time of the newest subscription event applied (older ones, arriving late, are ignored). Platform admins only.';
create index billing_accounts_subscription_idx on platform_backend.billing_accounts (stripe_subscription_id);
create trigger _100_timestamps before insert or update on platform_backend.billing_accounts
  for each row execute function platform_private.tg__timestamps();
alter table platform_backend.billing_accounts enable row level security;
alter table platform_backend.billing_accounts force row level security;
create policy admin_all on platform_backend.billing_accounts for all to :DATABASE_PLATFORM_ADMIN using (true) with check (true);
comment on policy admin_all on platform_backend.billing_accounts is 'The billing service links customers and applies their events.';
grant select on platform_backend.billing_accounts to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.link_stripe_customer(target_user_id uuid, customer_id text, subscription_id text default null)
  returns platform_backend.billing_accounts
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  result platform_backend.billing_accounts;
begin
  insert into platform_backend.billing_accounts as b (user_id, stripe_customer_id, stripe_subscription_id)
  values (target_user_id, customer_id, subscription_id)
  on conflict (user_id) do update
    set stripe_customer_id = excluded.stripe_customer_id,
        stripe_subscription_id = coalesce(excluded.stripe_subscription_id, b.stripe_subscription_id)
  returning * into result;
  return result;
end;
$$;
comment on function platform_backend.link_stripe_customer(uuid, text, text) is
  'Records the Stripe customer (and subscription, when known) of a user. Definer rights so the table''s only writers are these functions.';
revoke all on function platform_backend.link_stripe_customer(uuid, text, text) from public;
grant execute on function platform_backend.link_stripe_customer(uuid, text, text) to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.apply_stripe_subscription(
  customer_id text,
  subscription_id text,
  stripe_status text,
  plan_name text,
  cancel_at_period_end boolean,
  period_end timestamptz,
  event_created timestamptz
) returns text
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  account platform_backend.billing_accounts;
begin
  select * into account from platform_backend.billing_accounts b where b.stripe_customer_id = customer_id for update;
  if not found then
    return 'unknown_customer';
  end if;
  -- Stripe does not promise order: an event older than the one applied describes a past state.
  if account.last_event_at is not null and event_created < account.last_event_at then
    return 'stale';
  end if;
  update platform_backend.billing_accounts b
     set stripe_subscription_id = subscription_id, stripe_status = apply_stripe_subscription.stripe_status, last_event_at = event_created
   where b.user_id = account.user_id;
  if apply_stripe_subscription.stripe_status in ('canceled', 'unpaid', 'incomplete_expired') then
    -- Stripe ended it (the period is over, or payment failed for good): Free from now on.
    perform platform_backend.change_plan(account.user_id, 'Free', 'stripe', null, false);
    return 'canceled';
  elsif apply_stripe_subscription.stripe_status not in ('active', 'trialing', 'past_due') then
    return 'ignored'; -- incomplete, paused: nothing to grant yet
  elsif cancel_at_period_end then
    perform platform_backend.change_plan(account.user_id, 'Free', 'stripe', period_end, true);
    return 'cancel_scheduled';
  end if;
  perform platform_backend.change_plan(account.user_id, plan_name, 'stripe', period_end, null);
  return 'applied';
end;
$$;
comment on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz) is
  'Applies the state of a Stripe subscription (from customer.subscription.* events) to the customer''s user: its plan (an upgrade at once, a downgrade at the period''s end), a cancel at the period''s end, or the end. An event created before the newest one applied is ignored (stale). Answers what it did.';
revoke all on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz) from public;
grant execute on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz) to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.apply_stripe_checkout(
  target_user_id uuid,
  customer_id text,
  subscription_id text,
  plan_name text,
  event_created timestamptz
) returns text
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  account platform_backend.billing_accounts;
begin
  perform platform_backend.link_stripe_customer(target_user_id, customer_id, subscription_id);
  select * into account from platform_backend.billing_accounts b where b.user_id = target_user_id for update;
  -- A checkout completed before a subscription event already applied (say, its cancellation) arrives late: ignored.
  if account.last_event_at is not null and event_created < account.last_event_at then
    return 'stale';
  end if;
  update platform_backend.billing_accounts b set last_event_at = event_created where b.user_id = target_user_id;
  if plan_name is null then
    return 'ignored';
  end if;
  perform platform_backend.change_plan(target_user_id, plan_name, 'stripe', null, null);
  return 'applied';
end;
$$;
comment on function platform_backend.apply_stripe_checkout(uuid, text, text, text, timestamptz) is
  'Applies a completed Stripe checkout: links the customer (and subscription) to the user and moves them to the plan paid for (null: link only), unless a newer event was applied already (stale). Answers what it did.';
revoke all on function platform_backend.apply_stripe_checkout(uuid, text, text, text, timestamptz) from public;
grant execute on function platform_backend.apply_stripe_checkout(uuid, text, text, text, timestamptz) to :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- 6. Entitlements: what the sync job carries to the user-data database, and
-- what it found there (for the over-limit report).
create function platform_backend.entitlements_of(target_user_id uuid)
  returns table (plan_name text, max_projects bigint, max_personas bigint, monthly_tokens bigint, version bigint)
  language sql
  stable
  set search_path = pg_catalog, pg_temp
as $$
  -- The live subscription's plan, or Free without one.
  select p.name, (p.features ->> 'max_projects')::bigint, (p.features ->> 'max_personas')::bigint,
         (p.features ->> 'monthly_tokens')::bigint,
         coalesce((select v.version from platform_backend.entitlement_versions v where v.user_id = target_user_id), 0)
    from platform.subscription_plans p
   where p.id = coalesce(
     (select s.plan_id from platform.user_subscriptions s where s.user_id = target_user_id and s.status in ('trialing', 'active', 'past_due')),
     (select f.id from platform.subscription_plans f where f.name = 'Free'))
$$;
comment on function platform_backend.entitlements_of(uuid) is
  'The limits of the plan a user is on now (Free without a live subscription), with the version of the user''s subscriptions. For the sync_entitlements job.';
revoke all on function platform_backend.entitlements_of(uuid) from public;
grant execute on function platform_backend.entitlements_of(uuid) to :DATABASE_PLATFORM_ADMIN;

create table platform_backend.entitlement_syncs (
  user_id uuid not null primary key references platform.users (id) on delete cascade,
  plan_name text not null,
  version bigint not null,
  max_projects bigint,
  max_personas bigint,
  projects bigint not null check (projects >= 0),
  personas bigint not null check (personas >= 0),
  over_limit boolean generated always as (projects > coalesce(max_projects, projects) or personas > coalesce(max_personas, personas)) stored,
  synced_at timestamptz not null default now()
);
comment on table platform_backend.entitlement_syncs is
  'The last entitlements each user''s data received, and what that data held then: over_limit when a downgrade left more projects or personas than the plan allows (nothing is deleted; creating more is refused). Platform admins only.';
create index entitlement_syncs_over_limit_idx on platform_backend.entitlement_syncs (user_id) where over_limit;
alter table platform_backend.entitlement_syncs enable row level security;
alter table platform_backend.entitlement_syncs force row level security;
create policy admin_all on platform_backend.entitlement_syncs for all to :DATABASE_PLATFORM_ADMIN using (true) with check (true);
comment on policy admin_all on platform_backend.entitlement_syncs is 'The sync job records what it found; admins read the over-limit report.';
grant select on platform_backend.entitlement_syncs to :DATABASE_PLATFORM_ADMIN;

create function platform_backend.record_entitlement_sync(target_user_id uuid, synced_version bigint, projects bigint, personas bigint)
  returns platform_backend.entitlement_syncs
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  wanted record;
  before boolean;
  result platform_backend.entitlement_syncs;
begin
  select * into wanted from platform_backend.entitlements_of(target_user_id);
  if wanted.version is distinct from synced_version then
    return null; -- the plan changed meanwhile: the next sync reports
  end if;
  select s.over_limit into before from platform_backend.entitlement_syncs s where s.user_id = target_user_id;
  insert into platform_backend.entitlement_syncs as s (user_id, plan_name, version, max_projects, max_personas, projects, personas, synced_at)
  values (target_user_id, wanted.plan_name, wanted.version, wanted.max_projects, wanted.max_personas,
          record_entitlement_sync.projects, record_entitlement_sync.personas, now())
  on conflict (user_id) do update
    set plan_name = excluded.plan_name, version = excluded.version, max_projects = excluded.max_projects,
        max_personas = excluded.max_personas, projects = excluded.projects, personas = excluded.personas, synced_at = now()
  returning * into result;
  if result.over_limit and before is distinct from true then
    perform platform_backend.record_audit_event('entitlements.over_limit', target_user_id, jsonb_build_object(
      'plan', result.plan_name, 'projects', result.projects, 'max_projects', result.max_projects,
      'personas', result.personas, 'max_personas', result.max_personas));
  end if;
  return result;
end;
$$;
comment on function platform_backend.record_entitlement_sync(uuid, bigint, bigint, bigint) is
  'Records that a user''s data received the entitlements of a version, and what it held then; a user newly over a limit gets an entitlements.over_limit audit event. Ignored when the plan changed since. Definer rights so the table''s only writer is this function.';
revoke all on function platform_backend.record_entitlement_sync(uuid, bigint, bigint, bigint) from public;
grant execute on function platform_backend.record_entitlement_sync(uuid, bigint, bigint, bigint) to :DATABASE_PLATFORM_ADMIN;

create view platform_backend.over_limit_report with (security_invoker = true) as
  select s.user_id, u.email, s.plan_name, s.projects, s.max_projects, s.personas, s.max_personas, s.synced_at
    from platform_backend.entitlement_syncs s
    join platform.users u on u.id = s.user_id
   where s.over_limit;
comment on view platform_backend.over_limit_report is
  'Users whose data holds more projects or personas than their plan allows (after a downgrade): kept, but nothing more can be created. Platform admins only.';
grant select on platform_backend.over_limit_report to :DATABASE_PLATFORM_ADMIN;
