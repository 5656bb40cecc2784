--! Previous: sha1:d046a87ba85131f46ca35d30ecadd9962e4fa561
--! Hash: sha1:54a21e3286b1bbbd0f77c720eb8605a1820ae9ff

-- Issue 22: what anonymous callers get where the API documents null; a user's
-- own display name is theirs (sign-in only fills an empty one, Clerk's
-- user.updated changes it); Stripe subscription events ordered by what cannot
-- tie (an ended subscription is final for its id, an old subscription's end does
-- not cancel a newer one), unknown plans acknowledged, and past_due driven by
-- invoices. Idempotent: drops what it creates first.

drop function if exists platform_backend.apply_stripe_invoice(text, text, text, boolean);
drop function if exists platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz, timestamptz);
drop function if exists platform_private.sync_past_due(uuid);
drop function if exists platform_backend.rename_from_clerk(text, text);
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.stripe_invoices;
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.stripe_subscriptions;

--------------------------------------------------------------------------------
-- 1. Anonymous callers: currentUser and monthlyAllowance are documented as null
-- for them. They get null, not "permission denied": both functions answer
-- before reading any table when nobody is signed in.
grant execute on function platform.current_user_id() to :DATABASE_ANONYMOUS;

create or replace function platform.current_user() returns platform.users
  language plpgsql stable
  set search_path = pg_catalog
as $$
-- PL/pgSQL so that an anonymous caller gets null without touching platform.users (which it may not read).
declare
  me uuid := platform.current_user_id();
  result platform.users;
begin
  if me is null then
    return null;
  end if;
  select u.* into result from platform.users u where u.id = me;
  return result;
end;
$$;
comment on function platform.current_user() is 'The signed-in user''s account; null for anonymous requests.';
grant execute on function platform.current_user() to :DATABASE_ANONYMOUS;
grant execute on function platform.monthly_allowance() to :DATABASE_ANONYMOUS;

--------------------------------------------------------------------------------
-- 2. A user's display name is theirs: a sign-in's name claim only fills an
-- empty one; Clerk's user.updated webhook changes it (rename_from_clerk).
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
  -- The usual case: a known account, and claims that change nothing (an email absent or equal; a
  -- name claim changes nothing once the account has a name, which is the user's own).
  select * into result from platform.users u where u.clerk_id = register_user.clerk_id;
  if found
     and (usable_email is null or usable_email = result.email)
     and (usable_name is null or result.display_name is not null) then
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
      -- A known email is kept when a request does not carry a usable one; the name the user has
      -- is kept (a token's name claim only fills an empty one).
      set email = coalesce(excluded.email, u.email),
          display_name = coalesce(u.display_name, excluded.display_name)
    returning (u.xmax = 0) into created; -- xmax = 0: the row was inserted, not updated
  exception when unique_violation then
    -- A concurrent registration took the email between the check and the insert.
    insert into platform.users as u (clerk_id, email, display_name)
    values (register_user.clerk_id, null, usable_name)
    on conflict on constraint users_clerk_id_key do update
      set display_name = coalesce(u.display_name, excluded.display_name)
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
  'Finds or creates the account of a Clerk user; a new account starts on the Free plan; a known account whose claims change nothing is only read. The email follows the claim; the display name given only fills an empty one (a name the user set is theirs; Clerk''s user.updated changes it through rename_from_clerk). Claims that are not valid (malformed or taken email, name outside 1..200 characters) are stored as null, never refused. Refuses an account being erased (28000). For the API''s sign-in path and Clerk webhooks (platform admin).';

create function platform_backend.rename_from_clerk(clerk_id text, display_name text) returns platform.users
  language plpgsql
  volatile
  set search_path = pg_catalog
as $$
declare
  result platform.users;
begin
  -- The same rule for a usable name as registration: 1 to 200 characters; anything else changes nothing.
  if length(rename_from_clerk.display_name) between 1 and 200 then
    update platform.users u set display_name = rename_from_clerk.display_name
     where u.clerk_id = rename_from_clerk.clerk_id and u.display_name is distinct from rename_from_clerk.display_name;
  end if;
  select * into result from platform.users u where u.clerk_id = rename_from_clerk.clerk_id;
  return result;
end;
$$;
comment on function platform_backend.rename_from_clerk(text, text) is
  'Sets a user''s display name to the one Clerk has (from Clerk''s user.updated webhook): the one way a name changes other than the user''s own edit. A name that is empty or over 200 characters changes nothing. For the webhook (platform admin).';
revoke all on function platform_backend.rename_from_clerk(text, text) from public;
grant execute on function platform_backend.rename_from_clerk(text, text) to :DATABASE_PLATFORM_ADMIN;

--------------------------------------------------------------------------------
-- 3. Stripe subscriptions, each by its own id: its status and the newest event
-- applied to it. Stripe's event times have whole seconds and tie; an ended
-- subscription never comes back (Stripe does not revive one), so an event for
-- it after its end is stale whatever its time says.
create table platform_backend.stripe_subscriptions (
  user_id uuid not null references platform.users (id) on delete cascade,
  subscription_id text not null unique check (subscription_id ~ '^sub_[A-Za-z0-9_]{1,200}$'),
  status text not null check (length(status) between 1 and 40),
  started_at timestamptz,
  last_event_at timestamptz not null,
  ended_at timestamptz,
  primary key (user_id, subscription_id)
);
comment on table platform_backend.stripe_subscriptions is
  'Every Stripe subscription a user had, by its id: its last status, when Stripe created it (started_at, from the subscription object), the creation time of the newest event applied to it, and when it ended (final: later events for it are stale). Platform admins only; written by the apply_stripe_* functions.';
alter table platform_backend.stripe_subscriptions enable row level security;
alter table platform_backend.stripe_subscriptions force row level security;
create policy admin_select on platform_backend.stripe_subscriptions for select to :DATABASE_PLATFORM_ADMIN using (true);
comment on policy admin_select on platform_backend.stripe_subscriptions is 'Platform admins read it; only the definer functions write it.';
grant select on platform_backend.stripe_subscriptions to :DATABASE_PLATFORM_ADMIN;

-- Invoices of subscriptions whose payment failed, and whether they are paid now
-- (paid is final for an invoice, so a late payment_failed cannot undo it).
create table platform_backend.stripe_invoices (
  user_id uuid not null references platform.users (id) on delete cascade,
  invoice_id text not null unique check (invoice_id ~ '^in_[A-Za-z0-9_]{1,200}$'),
  subscription_id text not null check (subscription_id ~ '^sub_[A-Za-z0-9_]{1,200}$'),
  paid boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, invoice_id)
);
comment on table platform_backend.stripe_invoices is
  'Stripe invoices of a user''s subscriptions seen by invoice.payment_failed or invoice.paid: an unpaid one on the current subscription makes it past_due; paid is final. Platform admins only; written by apply_stripe_invoice.';
-- reason: platform_backend.stripe_invoices is created empty in this same migration
-- squawk-ignore require-concurrent-index-creation
create index stripe_invoices_unpaid_idx on platform_backend.stripe_invoices (user_id, subscription_id) where not paid;
alter table platform_backend.stripe_invoices enable row level security;
alter table platform_backend.stripe_invoices force row level security;
create policy admin_select on platform_backend.stripe_invoices for select to :DATABASE_PLATFORM_ADMIN using (true);
comment on policy admin_select on platform_backend.stripe_invoices is 'Platform admins read it; only the definer functions write it.';
grant select on platform_backend.stripe_invoices to :DATABASE_PLATFORM_ADMIN;

create function platform_private.sync_past_due(target_user_id uuid) returns text
  language plpgsql
  volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  due boolean;
  result text;
begin
  -- past_due while an invoice of the user's current Stripe subscription is unpaid; the plan's
  -- limits stay (Stripe retries the payment, and ends the subscription when it gives up).
  due := exists (select 1 from platform_backend.stripe_invoices i
                   join platform_backend.billing_accounts b on b.user_id = i.user_id and b.stripe_subscription_id = i.subscription_id
                  where i.user_id = target_user_id and not i.paid);
  update platform.user_subscriptions s set status = case when due then 'past_due' else 'active' end
   where s.user_id = target_user_id and s.status in ('active', 'past_due')
     and s.status <> case when due then 'past_due' else 'active' end;
  select s.status into result from platform.user_subscriptions s
   where s.user_id = target_user_id and s.status in ('trialing', 'active', 'past_due');
  return result;
end;
$$;
comment on function platform_private.sync_past_due(uuid) is
  'Marks the user''s live subscription past_due while an invoice of their current Stripe subscription is unpaid, and active again once none is; answers the live status. The caller holds the billing account''s row lock.';
revoke all on function platform_private.sync_past_due(uuid) from public;

drop function if exists platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz);
create function platform_backend.apply_stripe_subscription(
  customer_id text,
  subscription_id text,
  stripe_status text,
  plan_name text,
  cancel_at_period_end boolean,
  period_end timestamptz,
  event_created timestamptz,
  subscription_created timestamptz default null
) returns text
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  account platform_backend.billing_accounts;
  known platform_backend.stripe_subscriptions;
  current_one platform_backend.stripe_subscriptions;
  ending boolean := apply_stripe_subscription.stripe_status in ('canceled', 'unpaid', 'incomplete_expired');
begin
  select * into account from platform_backend.billing_accounts b where b.stripe_customer_id = customer_id for update;
  if not found then
    return 'unknown_customer';
  end if;
  select * into known from platform_backend.stripe_subscriptions s where s.subscription_id = apply_stripe_subscription.subscription_id;
  -- An ended subscription is final for its id, whatever the (whole-second) time of a later event says.
  if known.ended_at is not null then
    return 'stale';
  end if;
  -- Stripe does not promise order: an event older than the newest one applied to this subscription describes a past state.
  if known.subscription_id is not null and event_created < known.last_event_at then
    return 'stale';
  end if;
  insert into platform_backend.stripe_subscriptions as s (user_id, subscription_id, status, started_at, last_event_at, ended_at)
  values (account.user_id, apply_stripe_subscription.subscription_id, apply_stripe_subscription.stripe_status, subscription_created, event_created,
          case when ending then now() end)
  on conflict on constraint stripe_subscriptions_subscription_id_key do update
    set status = excluded.status, started_at = coalesce(s.started_at, excluded.started_at),
        last_event_at = greatest(s.last_event_at, excluded.last_event_at), ended_at = excluded.ended_at;

  if account.stripe_subscription_id is not null and account.stripe_subscription_id <> apply_stripe_subscription.subscription_id then
    if ending then
      return 'ended_other'; -- another subscription than the user's current one ended: the current one stays
    end if;
    select * into current_one from platform_backend.stripe_subscriptions s where s.subscription_id = account.stripe_subscription_id;
    -- Two live subscriptions: the one Stripe created later is the user's; an older one's events change nothing.
    if current_one.ended_at is null and current_one.started_at is not null and subscription_created is not null
       and subscription_created < current_one.started_at then
      return 'stale';
    end if;
  end if;

  update platform_backend.billing_accounts b
     set stripe_subscription_id = apply_stripe_subscription.subscription_id, stripe_status = apply_stripe_subscription.stripe_status,
         last_event_at = greatest(b.last_event_at, event_created)
   where b.user_id = account.user_id;
  if ending then
    -- Stripe ended it (the period is over, or payment failed for good): Free from now on.
    perform platform_backend.change_plan(account.user_id, 'Free', 'stripe', null, false);
    return 'canceled';
  elsif apply_stripe_subscription.stripe_status not in ('active', 'trialing', 'past_due') then
    return 'ignored'; -- incomplete, paused: nothing to grant yet
  elsif cancel_at_period_end then
    perform platform_backend.change_plan(account.user_id, 'Free', 'stripe', period_end, true);
    perform platform_private.sync_past_due(account.user_id);
    return 'cancel_scheduled';
  elsif not exists (select 1 from platform.subscription_plans p where p.name = plan_name) then
    return 'unknown_plan'; -- STRIPE_PRICES names a plan the platform does not have: acknowledged, nothing granted
  end if;
  perform platform_backend.change_plan(account.user_id, plan_name, 'stripe', period_end, null);
  perform platform_private.sync_past_due(account.user_id);
  return 'applied';
end;
$$;
comment on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz, timestamptz) is
  'Applies the state of a Stripe subscription (from customer.subscription.* events) to the customer''s user: its plan (an upgrade at once, a downgrade at the period''s end), a cancel at the period''s end, or the end. Stale (ignored): any event for a subscription that ended (final for its id), an event created before the newest one applied to the same subscription, a live subscription Stripe created before the user''s current live one. The end of another subscription than the current one changes nothing (ended_other). Answers what it did.';
revoke all on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz, timestamptz) from public;
grant execute on function platform_backend.apply_stripe_subscription(text, text, text, text, boolean, timestamptz, timestamptz, timestamptz) to :DATABASE_PLATFORM_ADMIN;

create or replace function platform_backend.apply_stripe_checkout(
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
  -- A checkout of a subscription that already ended arrives late (the end is final): nothing changes.
  if exists (select 1 from platform_backend.stripe_subscriptions s
              where s.subscription_id = apply_stripe_checkout.subscription_id and s.ended_at is not null) then
    return 'stale';
  end if;
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
  if not exists (select 1 from platform.subscription_plans p where p.name = plan_name) then
    return 'unknown_plan'; -- acknowledged (Stripe would retry a failure for ever); the customer stays linked
  end if;
  perform platform_backend.change_plan(target_user_id, plan_name, 'stripe', null, null);
  return 'applied';
end;
$$;
comment on function platform_backend.apply_stripe_checkout(uuid, text, text, text, timestamptz) is
  'Applies a completed Stripe checkout: links the customer (and subscription) to the user and moves them to the plan paid for (null: link only; a plan the platform does not have: unknown_plan), unless a newer event was applied already or the subscription already ended (stale). Answers what it did.';

create function platform_backend.apply_stripe_invoice(
  customer_id text,
  invoice_id text,
  subscription_id text,
  paid boolean
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
  -- Paid is final for an invoice: a payment_failed delivered after its invoice.paid changes nothing.
  insert into platform_backend.stripe_invoices as i (user_id, invoice_id, subscription_id, paid)
  values (account.user_id, apply_stripe_invoice.invoice_id, apply_stripe_invoice.subscription_id, apply_stripe_invoice.paid)
  on conflict on constraint stripe_invoices_invoice_id_key do update set paid = i.paid or excluded.paid, updated_at = now();
  if account.stripe_subscription_id is distinct from apply_stripe_invoice.subscription_id then
    return 'ignored'; -- another subscription than the user's current one
  end if;
  return coalesce(platform_private.sync_past_due(account.user_id), 'ignored');
end;
$$;
comment on function platform_backend.apply_stripe_invoice(text, text, text, boolean) is
  'Applies invoice.payment_failed (paid false) or invoice.paid (paid true) of a subscription: the user''s live subscription is past_due while an invoice of their current Stripe subscription is unpaid, and active again once all are paid. Answers the live subscription''s status (past_due or active), or ignored.';
revoke all on function platform_backend.apply_stripe_invoice(text, text, text, boolean) from public;
grant execute on function platform_backend.apply_stripe_invoice(text, text, text, boolean) to :DATABASE_PLATFORM_ADMIN;
