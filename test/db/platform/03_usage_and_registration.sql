-- Registration, usage recording with fair-use limits, and usage analytics.
begin;
select plan(20);

select tests.act_as('platformAdmin');
select is((select subscription_status from platform_backend.register_user('user_tap_usage_c', 'c@usage.test')), 'active',
  'a newly registered user starts with an active subscription');
select is((select p.name from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
            join platform.users u on u.id = s.user_id where u.clerk_id = 'user_tap_usage_c'), 'Free', 'on the Free plan');
select is((select email from platform_backend.register_user('user_tap_usage_c', 'c.new@usage.test')), 'c.new@usage.test',
  'registering again keeps one account and updates its email');
select is((select count(*)::int from platform.users where clerk_id = 'user_tap_usage_c'), 1, 'there is still exactly one account');
select is((select count(*)::int from platform.user_subscriptions s join platform.users u on u.id = s.user_id where u.clerk_id = 'user_tap_usage_c'), 1,
  'and still exactly one subscription');
select is((select email from platform_backend.register_user('user_tap_usage_d', 'C.NEW@usage.test')), null,
  'an email already registered to another account (whatever its case) is not taken over: the account is made without it');
select is((select email from platform.users where clerk_id = 'user_tap_usage_c'), 'c.new@usage.test',
  'and its owner keeps it');
select is((select row(email, display_name)::text from platform_backend.register_user('user_tap_usage_e', 'not an email', repeat('x', 201))), '(,)',
  'a malformed email and an over-long name are stored as null, and the account is made');
select is((select display_name from platform_backend.register_user('user_tap_usage_e', null, 'Eve')), 'Eve',
  'a later valid name is kept');

-- Read-mostly: a sign-in whose claims change nothing writes no new row version.
reset role;
create temp table tap_register_before on commit drop as select ctid::text as row_version from platform.users where clerk_id = 'user_tap_usage_e';
grant select on tap_register_before to :DATABASE_PLATFORM_ADMIN;
select tests.act_as('platformAdmin');
select is((select display_name from platform_backend.register_user('user_tap_usage_e', null, 'Eve')), 'Eve',
  'registering again with the same claims answers the account');
select is((select ctid::text from platform.users where clerk_id = 'user_tap_usage_e'), (select row_version from tap_register_before),
  'and leaves its row as it was: no update, no new row version');
select register_user.email from platform_backend.register_user('user_tap_usage_e', 'e.first@usage.test') as register_user;
select isnt((select ctid::text from platform.users where clerk_id = 'user_tap_usage_e'), (select row_version from tap_register_before),
  'a claim that brings something new (an email) is written');

-- Free allows 50,000 tokens a month.
select lives_ok($$ select platform_backend.record_usage((select id from platform.users where clerk_id = 'user_tap_usage_c'), 'blog_writer', 30000, 0.3) $$,
  'usage within the monthly limit is recorded');
select throws_ok($$ select platform_backend.record_usage((select id from platform.users where clerk_id = 'user_tap_usage_c'), 'blog_writer', 30000, 0.3) $$,
  '53400', 'monthly token limit exceeded: 30000 of 50000 tokens used, 30000 more requested', 'usage beyond the plan''s monthly limit is refused');
select lives_ok($$ select platform_backend.change_subscription((select id from platform.users where clerk_id = 'user_tap_usage_c'), 'Enterprise') $$,
  'the user upgrades to Enterprise');
select lives_ok($$ select platform_backend.record_usage((select id from platform.users where clerk_id = 'user_tap_usage_c'), 'podcast', 900000, 9) $$,
  'Enterprise has no monthly limit');
select throws_ok($$ select platform_backend.record_usage((select id from platform.users where clerk_id = 'user_tap_usage_c'), 'podcast', -5, 0) $$,
  '23514', null, 'negative usage is refused');
select platform_backend.register_user('user_tap_usage_e', 'e@usage.test');
select platform_backend.record_usage((select id from platform.users where clerk_id = 'user_tap_usage_e'), 'research', 10, 0.001);
reset role;

-- Look the id up before becoming the user: RLS hides accounts from a session without one.
select tests.become((select id from platform.users where clerk_id = 'user_tap_usage_c'));
select results_eq('select feature, tokens_used, cost_usd, events from platform.usage_summary()',
  $$ values ('blog_writer'::text, 30000::bigint, 0.3::numeric, 1::bigint), ('podcast', 900000, 9, 1) $$,
  'a user''s usage summary shows their own usage by feature');
select throws_ok($$ select platform_backend.record_usage(platform.current_user_id(), 'free_lunch', 0, 0) $$, '42501', null,
  'a signed-in user cannot record usage');
select tests.act_as('anyUser');
select is_empty('select * from platform.usage_summary()', 'without a user the usage summary is empty');
reset role;

select * from finish();
rollback;
