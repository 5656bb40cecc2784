-- Usage metering: running monthly totals, the quota check from them, the monthly allowance,
-- partitions by month, and analytics that only platform admins can use.
begin;
select plan(23);

-- The partitioned log and where its partitions live.
select is((select c.relkind::text from pg_class c where c.oid = 'platform.platform_usage_logs'::regclass), 'p',
  'platform_usage_logs is partitioned');
select is((select pg_get_partkeydef('platform.platform_usage_logs'::regclass)), 'RANGE (created_at)', 'by range of created_at');
select ok(exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                   where i.inhparent = 'platform.platform_usage_logs'::regclass
                     and c.relname = format('platform_usage_logs_y%s', to_char(now() at time zone 'UTC', 'YYYY"m"MM'))),
  'this month has its partition');
select ok(exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                   where i.inhparent = 'platform.platform_usage_logs'::regclass
                     and c.relname = format('platform_usage_logs_y%s', to_char((now() at time zone 'UTC') + interval '3 months', 'YYYY"m"MM'))),
  'the migration made partitions three months ahead');
select is_empty($$ select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                    where i.inhparent = 'platform.platform_usage_logs'::regclass
                      and (c.relnamespace <> 'platform_partitions'::regnamespace or not (c.relrowsecurity and c.relforcerowsecurity)) $$,
  'every partition lives in platform_partitions with row-level security forced');
select is_empty($$ select c.relname, a.grantee from pg_class c, aclexplode(c.relacl) a
                    where c.relnamespace = 'platform_partitions'::regnamespace and a.grantee <> c.relowner $$,
  'no partition is granted to anyone: rows are reached through the parent''s policies');
select ok(not exists (select 1 from pg_partitioned_table p join pg_inherits i on i.inhparent = p.partrelid
                       join pg_class c on c.oid = i.inhrelid
                      where p.partrelid = 'platform.platform_usage_logs'::regclass and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'),
  'there is no default partition: a month without one fails loudly instead of blocking later partitions');

select tests.act_as('platformAdmin');
select platform_backend.register_user('user_tap_meter_a', 'a@meter.test');
select platform_backend.register_user('user_tap_meter_b', 'b@meter.test');
-- The ids as transaction-local settings: the admin may not create temporary tables.
select set_config('tap.meter_a', (select id::text from platform.users where clerk_id = 'user_tap_meter_a'), true);
select set_config('tap.meter_b', (select id::text from platform.users where clerk_id = 'user_tap_meter_b'), true);

select platform_backend.record_usage(current_setting('tap.meter_a')::uuid, 'blog_writer', 20000, 0.2);
select platform_backend.record_usage(current_setting('tap.meter_a')::uuid, 'podcast', 10000, 0.1);
select results_eq($$ select tokens_used, cost_usd, events from platform.usage_monthly_totals
                      where user_id = current_setting('tap.meter_a')::uuid and month = date_trunc('month', now() at time zone 'UTC')::date $$,
  $$ values (30000::bigint, 0.3::numeric, 2::bigint) $$, 'each recorded event adds to the user''s running total for the month');
select throws_ok($$ select platform_backend.record_usage(current_setting('tap.meter_a')::uuid, 'blog_writer', 20001, 0) $$,
  '53400', 'monthly token limit exceeded: 30000 of 50000 tokens used, 20001 more requested', 'the quota check reads the running total');
select lives_ok($$ select platform_backend.record_usage(current_setting('tap.meter_a')::uuid, 'blog_writer', 20000, 0) $$,
  'usage up to the limit exactly is recorded');

-- Any change to the logs, by anyone, keeps the totals equal to their sums.
insert into platform.platform_usage_logs (user_id, feature, tokens_used, cost_usd, created_at)
select current_setting('tap.meter_b')::uuid, 'research', 5, 0.01, now() from generate_series(1, 100);
select results_eq($$ select tokens_used, events from platform.usage_monthly_totals where user_id = current_setting('tap.meter_b')::uuid $$,
  $$ values (500::bigint, 100::bigint) $$, 'a bulk insert of 100 rows adds all of them');
update platform.platform_usage_logs set tokens_used = 7 where user_id = current_setting('tap.meter_b')::uuid and id in (
  select id from platform.platform_usage_logs where user_id = current_setting('tap.meter_b')::uuid order by id limit 10);
select is((select tokens_used from platform.usage_monthly_totals where user_id = current_setting('tap.meter_b')::uuid), 520::bigint,
  'an update moves the total by the difference');
delete from platform.platform_usage_logs where user_id = current_setting('tap.meter_b')::uuid and tokens_used = 7;
select results_eq($$ select tokens_used, events from platform.usage_monthly_totals where user_id = current_setting('tap.meter_b')::uuid $$,
  $$ values (450::bigint, 90::bigint) $$, 'a delete takes the rows out of the total');
select is_empty($$ select t.user_id from platform.usage_monthly_totals t
                    full join (select user_id, date_trunc('month', created_at at time zone 'UTC')::date as month, sum(tokens_used) as tokens, count(*) as events
                                 from platform.platform_usage_logs where user_id in (current_setting('tap.meter_a')::uuid, current_setting('tap.meter_b')::uuid) group by 1, 2) l
                      using (user_id, month)
                   where (t.user_id in (current_setting('tap.meter_a')::uuid, current_setting('tap.meter_b')::uuid) or l.user_id is not null)
                     and (t.tokens_used is distinct from l.tokens or t.events is distinct from l.events) $$,
  'the totals equal the sums of the logs');
select throws_ok($$ insert into platform.usage_monthly_totals (user_id, month) values (current_setting('tap.meter_a')::uuid, '2020-01-01') $$,
  '42501', null, 'nobody but the log triggers writes totals');

select is((select count(*)::int from platform_backend.ensure_usage_partitions(5)), 2,
  'ensure_usage_partitions(5) makes the two missing months beyond the three made ahead');
select is((select count(*)::int from platform_backend.ensure_usage_partitions(5)), 0, 'and asking again makes none');
select throws_ok($$ select platform_backend.detach_usage_partitions((now() at time zone 'UTC')::date + 40) $$, '22023', null,
  'the current month''s partition cannot be detached');
select ok((select count(*) from platform_analytics.usage_by_feature(now() - interval '1 day', now() + interval '1 day') where feature = 'research') = 1,
  'the platform admin reads the analytics');
reset role;

-- The signed-in user: their allowance, and no analytics.
select tests.become(current_setting('tap.meter_a')::uuid);
select results_eq($$ select tokens_used, token_limit, tokens_remaining, resets_at = (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC'
                       from platform.monthly_allowance() $$,
  $$ values (50000::bigint, 50000::bigint, 0::bigint, true) $$, 'a user''s allowance: used, limit, none remaining, reset at the start of next month (UTC)');
select is((select count(*)::int from platform.usage_monthly_totals), 1, 'a user sees only their own totals');
select throws_ok($$ select * from platform_analytics.usage_by_feature(now() - interval '1 day', now()) $$, '42501', null,
  'a signed-in user cannot use the analytics');
select tests.act_as('anyUser');
select is((select tokens_used from platform.monthly_allowance()), null, 'without a user there is no allowance');
reset role;

select * from finish();
rollback;
