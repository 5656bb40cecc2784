-- Per-user platform tables: forced RLS, each user sees only their own account,
-- subscriptions and usage; anonymous requests see plans only; one live
-- subscription per user; plan changes are atomic.
begin;
select plan(30);

create temp view per_user_tables as
  select c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c
   where c.relnamespace = 'platform'::regnamespace and c.relkind in ('r', 'p')
     and (c.relname = 'users' or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped));

select set_eq('select relname::text from per_user_tables', array['users', 'user_subscriptions', 'platform_usage_logs', 'usage_monthly_totals', 'plan_changes'],
  'the per-user platform tables are users, user_subscriptions, platform_usage_logs, usage_monthly_totals and plan_changes');
select is_empty('select relname from per_user_tables where not (relrowsecurity and relforcerowsecurity)',
  'every per-user platform table has row-level security enabled and forced');
select ok((select relrowsecurity and relforcerowsecurity from pg_class where oid = 'platform.subscription_plans'::regclass),
  'subscription_plans has row-level security enabled and forced: what a caller sees of the plans is decided by policies');
select is_empty($$
  select t.relname || ' lacks a ' || cmd.name || ' policy'
    from per_user_tables t
   cross join (values ('r', 'select'), ('a', 'insert'), ('w', 'update'), ('d', 'delete')) as cmd (code, name)
   where not exists (select 1 from pg_policy p where p.polrelid = t.oid and p.polcmd in (cmd.code, '*') and p.polroles <> array[0::oid])
$$, 'every per-user platform table has a policy, naming its role, for each command');
select is_empty($$
  select t.relname from per_user_tables t
   where not exists (select 1 from pg_policy p where p.polrelid = t.oid and p.polcmd in ('r', '*')
                      and ':DATABASE_AUTHENTICATED'::regrole = any (p.polroles))
$$, 'signed-in users have a read policy on every per-user platform table');

-- The scene, as the owner.
set local role :DATABASE_OWNER;
insert into platform.users (id, clerk_id, email) values
  ('11111111-1111-4111-8111-11111111111a', 'user_tap_platform_a', 'a@platform.test'),
  ('22222222-2222-4222-8222-22222222222b', 'user_tap_platform_b', 'b@platform.test');
insert into platform.user_subscriptions (user_id, plan_id)
  select u.id, p.id from platform.users u, platform.subscription_plans p
   where u.clerk_id like 'user_tap_platform_%' and p.name = 'Free';
insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd) values
  ('11111111-1111-4111-8111-11111111111a', 'blog_writer', 1200, 0.012),
  ('22222222-2222-4222-8222-22222222222b', 'podcast', 9000, 0.09);
select is((select count(*)::int from platform.platform_usage_logs where user_id = '22222222-2222-4222-8222-22222222222b'), 1, 'owner: B has usage');
select is((select subscription_status from platform.users where id = '22222222-2222-4222-8222-22222222222b'), 'active',
  'a user''s subscription status follows their live subscription');
select throws_ok($$ insert into platform.users (clerk_id, email) values ('user_tap_platform_c', 'A@Platform.TEST') $$,
  '23505', null, 'emails are unique regardless of letter case');
select throws_ok($$ insert into platform.user_subscriptions (user_id, plan_id) select '11111111-1111-4111-8111-11111111111a', id from platform.subscription_plans where name = 'Pro' $$,
  '23505', null, 'a second active subscription for one user is refused');
reset role;

select tests.become('11111111-1111-4111-8111-11111111111a');
select results_eq('select clerk_id from platform.users', $$ values ('user_tap_platform_a'::text) $$, 'A sees only their own account');
select results_eq('select user_id from platform.user_subscriptions', $$ values ('11111111-1111-4111-8111-11111111111a'::uuid) $$, 'A sees only their own subscription');
select results_eq('select feature from platform.platform_usage_logs', $$ values ('blog_writer'::text) $$, 'A sees only their own usage');
select is((select count(*)::int from platform.subscription_plans), 3, 'A can read every plan');
select is_empty($$ update platform.users set display_name = 'taken' where id = '22222222-2222-4222-8222-22222222222b' returning 1 $$, 'A cannot update B''s account');
select isnt_empty($$ update platform.users set display_name = 'Ada' returning 1 $$, 'A can set their own display name');
select throws_ok($$ update platform.users set email = 'new@platform.test' $$, '42501', null, 'A cannot change their email (Clerk owns it)');
select throws_ok($$ delete from platform.users $$, '42501', null, 'A cannot delete accounts');
select throws_ok($$ insert into platform.platform_usage_logs (user_id, feature, tokens_used) values ('11111111-1111-4111-8111-11111111111a', 'free_lunch', 0) $$,
  '42501', null, 'A cannot write their own usage');
select throws_ok($$ update platform.user_subscriptions set plan_id = plan_id $$, '42501', null, 'A cannot change subscriptions directly');
select throws_ok($$ select platform_backend.change_subscription('11111111-1111-4111-8111-11111111111a', 'Enterprise') $$, '42501', null,
  'A cannot call the billing service''s plan change');
select tests.act_as('anyUser');
select is_empty('select 1 from platform.users union all select 1 from platform.user_subscriptions union all select 1 from platform.platform_usage_logs',
  'a session without a user sees no account, subscription or usage');
reset role;

insert into platform.subscription_plans (name, price_cents, is_public) values ('Hidden', 100, false);
select tests.act_as('anonymous');
select is((select count(*)::int from platform.subscription_plans), 3, 'the anonymous role reads the public plans');
select is_empty($$ select 1 from platform.subscription_plans where not is_public $$, 'the anonymous role does not see a hidden plan');
reset role;
select tests.act_as('platformAdmin');
select is((select count(*)::int from platform.subscription_plans where name = 'Hidden'), 1, 'the platform admin sees hidden plans');
reset role;
delete from platform.subscription_plans where name = 'Hidden';
select tests.act_as('anonymous');
select throws_ok('select 1 from platform.users', '42501', null, 'the anonymous role cannot read accounts');
select throws_ok('select 1 from platform.platform_usage_logs', '42501', null, 'the anonymous role cannot read usage');
reset role;

-- The billing service upgrades and downgrades atomically.
select tests.act_as('platformAdmin');
select is((select p.name from platform_backend.change_subscription('11111111-1111-4111-8111-11111111111a', 'Pro') s join platform.subscription_plans p on p.id = s.plan_id),
  'Pro', 'the platform admin upgrades A to Pro');
select results_eq($$ select p.name, s.status from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
                      where s.user_id = '11111111-1111-4111-8111-11111111111a' order by s.status $$,
  $$ values ('Pro'::text, 'active'::text), ('Free', 'canceled') $$, 'after an upgrade the old subscription is canceled and the new one active');
select is((select count(*)::int from platform.platform_usage_logs where user_id in ('11111111-1111-4111-8111-11111111111a', '22222222-2222-4222-8222-22222222222b')), 2,
  'the platform admin sees every user''s usage');
select throws_ok($$ select platform_backend.change_subscription('11111111-1111-4111-8111-11111111111a', 'Platinum') $$, '22023',
  'unknown subscription plan "Platinum"', 'an unknown plan is refused by name');
reset role;

select * from finish();
rollback;
