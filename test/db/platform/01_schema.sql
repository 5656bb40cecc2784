-- The platform schema: tables, key columns and their types, seeded plans.
begin;
select plan(22);

select tables_are('platform', array['users', 'subscription_plans', 'user_subscriptions', 'platform_usage_logs', 'usage_monthly_totals', 'plan_changes'],
  'platform holds exactly the five platform tables');

select col_type_is('platform', 'users', 'id', 'uuid', 'users.id is a uuid');
select col_is_pk('platform', 'users', 'id', 'users are keyed by id');
select col_type_is('platform', 'users', 'clerk_id', 'text', 'users.clerk_id is text');
select col_is_unique('platform', 'users', 'clerk_id', 'a Clerk user has one account');
select col_type_is('platform', 'users', 'email', 'text', 'users.email is text');
select col_type_is('platform', 'users', 'subscription_status', 'text', 'users.subscription_status is text');
select has_index('platform', 'users', 'users_email_lower_key', 'lower(email)', 'emails are indexed case-insensitively');

select col_type_is('platform', 'subscription_plans', 'price_cents', 'integer', 'plan prices are whole cents');
select col_type_is('platform', 'subscription_plans', 'features', 'jsonb', 'plan features are jsonb');
select col_is_unique('platform', 'subscription_plans', 'name', 'plan names are unique');
select results_eq('select name from platform.subscription_plans order by sort_order', $$ values ('Free'::text), ('Pro'), ('Enterprise') $$,
  'the Free, Pro and Enterprise plans are seeded');

select fk_ok('platform', 'user_subscriptions', 'user_id', 'platform', 'users', 'id', 'a subscription belongs to a user');
select fk_ok('platform', 'user_subscriptions', 'plan_id', 'platform', 'subscription_plans', 'id', 'a subscription is to a plan');
select col_type_is('platform', 'user_subscriptions', 'current_period_end', 'timestamp with time zone', 'periods end at a timestamptz');
select has_index('platform', 'user_subscriptions', 'user_subscriptions_one_live_per_user', 'one live subscription per user is indexed');

select col_type_is('platform', 'platform_usage_logs', 'tokens_used', 'bigint', 'tokens_used is a bigint');
select col_type_is('platform', 'platform_usage_logs', 'cost_usd', 'numeric(14,6)', 'cost_usd is an exact numeric');
select fk_ok('platform', 'platform_usage_logs', 'user_id', 'platform', 'users', 'id', 'usage belongs to a user');
select col_is_pk('platform', 'platform_usage_logs', array['user_id', 'created_at', 'id'],
  'usage logs are keyed by user, time and id (the key of a table partitioned by time holds the time; read backwards it serves one user''s recent usage)');

select throws_ok($$ insert into platform.platform_usage_logs (user_id, feature, tokens_used) values (gen_random_uuid(), 'blog_writer', -1) $$,
  '23514', null, 'negative token counts are refused');
select throws_ok($$ insert into platform.subscription_plans (name, price_cents, features) values ('Broken', 100, '{"monthly_tokens": "lots"}') $$,
  '23514', null, 'plan limits must be numbers or null');

select * from finish();
rollback;
