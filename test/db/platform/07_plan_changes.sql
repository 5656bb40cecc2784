-- Plan changes with history: upgrades at once, downgrades and cancels at the end
-- of the period (applied by apply_plan_change when due), nothing deleted or
-- overwritten, each subscription change enqueues the entitlements sync, and
-- Stripe subscription events applied in order (older ones ignored).
begin;
select plan(45);

select tests.act_as('platformAdmin');
select platform_backend.register_user('user_tap_plans_a', 'a@plans.test');
select platform_backend.register_user('user_tap_plans_b', 'b@plans.test');
reset role;
create temp table ids as select
  (select id from platform.users where clerk_id = 'user_tap_plans_a') as a,
  (select id from platform.users where clerk_id = 'user_tap_plans_b') as b;
grant select on ids to public;
create temp view live_plan as
  select s.user_id, p.name from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
   where s.status in ('trialing', 'active', 'past_due');
grant select on live_plan to public;

select tests.act_as('platformAdmin');
select is((select name from live_plan where user_id = (select a from ids)), 'Free', 'a new user starts on Free');

-- Upgrade: at once.
select is((select row(kind, state)::text from platform_backend.change_plan((select a from ids), 'Pro')), '(upgrade,applied)',
  'an upgrade is applied at once');
select is((select name from live_plan where user_id = (select a from ids)), 'Pro', 'the user is on Pro from now on');

-- Downgrade: scheduled for the end of the period, with its job due then.
select is((select row(kind, state)::text from platform_backend.change_plan((select a from ids), 'Free')), '(cancel,scheduled)',
  'a move to Free (a cancel) is scheduled, not applied');
select is((select name from live_plan where user_id = (select a from ids)), 'Pro', 'the user keeps Pro until the period ends');
select is((select c.effective_at from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'scheduled'),
  (select s.current_period_end from platform.user_subscriptions s where s.user_id = (select a from ids) and s.status = 'active'),
  'the cancel takes effect when the paid period ends');
select is(platform_backend.apply_plan_change((select c.id from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'scheduled')),
  'not_due', 'applying it before the period ends changes nothing');
reset role;
select is((select j.run_at from graphile_worker.jobs j where j.key = 'apply_plan_change:' || (select a from ids)),
  (select c.effective_at from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'scheduled'),
  'the apply_plan_change job is due exactly when the period ends');
select tests.act_as('platformAdmin');

-- A newer request supersedes the one waiting.
select is((select row(kind, state)::text from platform_backend.change_plan((select a from ids), 'Enterprise')), '(upgrade,applied)',
  'an upgrade while a cancel waits is applied at once');
select is((select count(*)::int from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'superseded'), 1,
  'and the waiting cancel is superseded');
select is(platform_backend.apply_plan_change((select c.id from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'superseded')),
  'superseded', 'its job, should it run, changes nothing');
select is((select name from live_plan where user_id = (select a from ids)), 'Enterprise', 'the user is on Enterprise');

-- A downgrade due (a Stripe period end a moment away), applied by the job's function, once.
select is((select row(kind, state)::text from platform_backend.change_plan((select a from ids), 'Pro', 'stripe', clock_timestamp() + interval '300 milliseconds')),
  '(downgrade,scheduled)', 'a downgrade from Enterprise to Pro is scheduled for the period''s end Stripe reports');
select pg_sleep(0.4);
select is(platform_backend.apply_plan_change((select c.id from platform.plan_changes c where c.user_id = (select a from ids) and c.state = 'scheduled')),
  'applied', 'once the period has ended the job''s function applies it');
select is((select name from live_plan where user_id = (select a from ids)), 'Pro', 'the user is on Pro');
select is(platform_backend.apply_plan_change((select c.id from platform.plan_changes c where c.user_id = (select a from ids) and c.kind = 'downgrade')),
  'applied', 'applying it again answers applied');
select is((select count(*)::int from platform.user_subscriptions s where s.user_id = (select a from ids)), 4,
  'and starts nothing new: Free, Pro, Enterprise and Pro, every one kept');
select is((select count(*)::int from platform.user_subscriptions s where s.user_id = (select a from ids) and s.status <> 'canceled'), 1,
  'exactly one of them is current');
select results_eq($$ select kind, state, source from platform.plan_changes where user_id = (select a from ids) order by requested_at, effective_at $$,
  $$ values ('upgrade'::text, 'applied'::text, 'admin'::text), ('cancel', 'superseded', 'admin'), ('upgrade', 'applied', 'admin'), ('downgrade', 'applied', 'stripe') $$,
  'every change is kept, in order, with its outcome');
select is((select kind from platform_backend.change_plan((select a from ids), 'Pro', 'stripe', now() + interval '2 months')), 'renewal',
  'the same plan again is a renewal');
select ok((select s.current_period_end > now() + interval '59 days' from platform.user_subscriptions s where s.user_id = (select a from ids) and s.status = 'active'),
  'which moves the period''s end');

-- History cannot be rewritten.
select throws_ok($$ delete from platform.user_subscriptions where user_id = (select a from ids) $$, '42501', null,
  'subscriptions are never deleted, not even by the billing service');
select throws_ok($$ update platform.user_subscriptions set current_period_end = now() + interval '1 year' where user_id = (select a from ids) and status = 'canceled' $$,
  '42501', null, 'an ended subscription is kept as it was');
select throws_ok($$ update platform.user_subscriptions set plan_id = (select id from platform.subscription_plans where name = 'Enterprise') where user_id = (select a from ids) and status = 'active' $$,
  '42501', 'a subscription''s plan and start are kept; a plan change starts a new subscription', 'a subscription''s plan is never overwritten');
select throws_ok($$ delete from platform.plan_changes where user_id = (select a from ids) $$, '42501', null, 'plan changes are never deleted');
select throws_ok($$ update platform.plan_changes set kind = 'upgrade' where user_id = (select a from ids) and kind = 'downgrade' $$, '42501', null,
  'a settled plan change is kept as it was');
select throws_ok($$ update platform.plan_changes set state = 'superseded' where user_id = (select a from ids) and kind = 'downgrade' $$, '42501',
  'plan change ' || (select id from platform.plan_changes where user_id = (select a from ids) and kind = 'downgrade') || ' is applied and is kept as it is',
  'and its outcome is never rewritten');
select is((select count(*)::int from platform.plan_changes where user_id in ((select a from ids), (select b from ids))), 5,
  'platform admins read every user''s plan changes');

-- Each subscription change enqueues the entitlements sync, in its own transaction.
reset role;
select is((select count(*)::int from graphile_worker.jobs j where j.key = 'sync_entitlements:' || (select b from ids) and j.task_identifier = 'sync_entitlements'), 1,
  'registering enqueued the new user''s entitlements sync (one job per user)');
select ok((select v.version from platform_backend.entitlement_versions v where v.user_id = (select a from ids))
          > (select v.version from platform_backend.entitlement_versions v where v.user_id = (select b from ids)),
  'each change raises the user''s entitlements version');
select tests.act_as('platformAdmin');
select is((select row(plan_name, max_projects, max_personas)::text from platform_backend.entitlements_of((select a from ids))), '(Pro,50,10)',
  'entitlements_of gives the current plan''s limits');

-- What a user sees: their own changes, nobody else's.
select tests.become((select a from ids));
select is((select count(*)::int from platform.my_plan_changes()), 5, 'a user sees their plan changes');
select is((select count(*)::int from platform.plan_changes where user_id = (select b from ids)), 0, 'and not another user''s');
select throws_ok($$ select platform_backend.change_plan(platform.current_user_id(), 'Enterprise') $$, '42501', null, 'a user cannot change their own plan directly');
select tests.act_as('anyUser');
reset role;

-- Stripe: events applied in order; older ones, arriving late, ignored.
select tests.act_as('platformAdmin');
select platform_backend.link_stripe_customer((select b from ids), 'cus_tapplansb');
select is(platform_backend.apply_stripe_subscription('cus_tapplansb', 'sub_tapb', 'active', 'Pro', false, now() + interval '1 month', now() - interval '1 minute'),
  'applied', 'an active subscription to Pro upgrades the customer''s user');
select is((select name from live_plan where user_id = (select b from ids)), 'Pro', 'who is on Pro at once');
select is(platform_backend.apply_stripe_subscription('cus_tapplansb', 'sub_tapb', 'canceled', 'Pro', false, null, now() - interval '2 minutes'),
  'stale', 'an event created before the one applied is ignored');
select is((select name from live_plan where user_id = (select b from ids)), 'Pro', 'and changes nothing');
select is(platform_backend.apply_stripe_subscription('cus_tapplansb', 'sub_tapb', 'active', 'Pro', true, now() + interval '10 days', now()),
  'cancel_scheduled', 'cancel at the period''s end is scheduled');
select is((select row(kind, state, to_plan_id = (select id from platform.subscription_plans where name = 'Free'))::text
             from platform.plan_changes c where c.user_id = (select b from ids) and c.state = 'scheduled'), '(cancel,scheduled,t)',
  'as a scheduled move to Free');
select is(platform_backend.apply_stripe_subscription('cus_tapplansb', 'sub_tapb', 'canceled', 'Pro', false, null, now() + interval '1 second'),
  'canceled', 'a subscription Stripe ended moves the user to Free');
select is((select name from live_plan where user_id = (select b from ids)), 'Free', 'at once');
select is(platform_backend.apply_stripe_subscription('cus_unknown', 'sub_x', 'active', 'Pro', false, null, now()), 'unknown_customer',
  'a customer nobody checked out as is reported, not guessed');

-- Over the limit after a downgrade: reported to admins (and audited), nothing deleted.
select platform_backend.record_entitlement_sync((select b from ids), (select version from platform_backend.entitlements_of((select b from ids))), 5, 1);
select is((select row(plan_name, projects, max_projects)::text from platform_backend.over_limit_report where user_id = (select b from ids)), '(Free,5,3)',
  'a user whose data exceeds their new plan is on the over-limit report');
select is((select count(*)::int from platform_audit.events e where e.kind = 'entitlements.over_limit' and e.user_id = (select b from ids)), 1,
  'and in the audit log');
reset role;

select * from finish();
rollback;
