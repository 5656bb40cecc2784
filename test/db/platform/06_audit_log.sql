-- The audit log: written in the event's own transaction, read by platform admins
-- only, never changed or removed through any API role.
begin;
select plan(19);

select tests.act_as('platformAdmin');
select platform_backend.register_user('user_tap_audit_a', 'a@audit.test');
select platform_backend.register_user('user_tap_audit_b', 'b@audit.test');
select set_config('tap.a', (select id::text from platform.users where clerk_id = 'user_tap_audit_a'), true);
select set_config('tap.b', (select id::text from platform.users where clerk_id = 'user_tap_audit_b'), true);

select results_eq(
  $$ select kind, details->>'plan', actor_role from platform_audit.events where user_id = current_setting('tap.a')::uuid order by id $$,
  $$ values ('subscription.started'::text, 'Free'::text, current_setting('role')::text) $$,
  'registration starts a Free subscription, and the audit log says so, naming the role that acted');

select platform_backend.change_subscription(current_setting('tap.a')::uuid, 'Pro');
select results_eq(
  $$ select kind, coalesce(details->>'to_status', details->>'status'), coalesce(details->>'from_plan', details->>'plan')
       from platform_audit.events where user_id = current_setting('tap.a')::uuid order by id $$,
  $$ values ('subscription.started'::text, 'active'::text, 'Free'::text),
            ('subscription.changed', 'canceled', 'Free'),
            ('subscription.started', 'active', 'Pro') $$,
  'an upgrade is recorded as the old subscription ending and the new one starting, in order');

-- Written in the same transaction as the event: an event rolled back leaves no record.
savepoint before_change;
select platform_backend.change_subscription(current_setting('tap.b')::uuid, 'Enterprise');
rollback to savepoint before_change;
select is((select count(*)::int from platform_audit.events where user_id = current_setting('tap.b')::uuid and details->>'plan' = 'Enterprise'), 0,
  'a plan change that is rolled back leaves no audit event');

select ok(platform_backend.record_audit_event('user.export_requested', current_setting('tap.a')::uuid, '{"by": "operator"}') > 0,
  'backend services append events through record_audit_event');
select throws_ok($$ select platform_backend.record_audit_event('Not A Kind', null) $$, '23514', null,
  'an event kind must have the <subject>.<event> form');

-- Erasure and webhook applications are audited by triggers, whoever makes them.
select platform_backend.request_account_deletion(current_setting('tap.b')::uuid, 'operator');
select results_eq(
  $$ select kind, details->>'requested_by' from platform_audit.events where user_id = current_setting('tap.b')::uuid and kind like 'user.%' $$,
  $$ values ('user.deletion_requested'::text, 'operator'::text) $$,
  'a deletion request is audited with who asked for it');
insert into platform_backend.webhook_deliveries (delivery_id, event_type) values ('msg_tap_audit', 'user.updated');
select results_eq(
  $$ select details->>'event_type' from platform_audit.events where kind = 'webhook.applied' and details->>'delivery_id' = 'msg_tap_audit' $$,
  $$ values ('user.updated'::text) $$,
  'an applied webhook delivery is audited');

-- Append-only for everyone who can reach it.
select throws_ok($$ update platform_audit.events set details = '{}' $$, '42501', null, 'platform admins cannot update the audit log');
select throws_ok($$ delete from platform_audit.events $$, '42501', null, 'platform admins cannot delete from the audit log');
select throws_ok($$ truncate platform_audit.events $$, '42501', null, 'platform admins cannot truncate the audit log');
select throws_ok($$ insert into platform_audit.events (kind, actor_role) values ('forged.event', 'nobody') $$, '42501', null,
  'platform admins cannot insert around record_audit_event (no forged actors)');
reset role;

-- Even a superuser (the test's own login) cannot change history without disabling the trigger.
select throws_ok($$ delete from platform_audit.events where user_id = current_setting('tap.a')::uuid $$,
  '42501', null, 'even a superuser cannot delete audit events without disabling the trigger');

select tests.become(current_setting('tap.a')::uuid);
select throws_ok($$ select count(*) from platform_audit.events $$, '42501', null, 'a signed-in user cannot read the audit log, not even about themselves');
select throws_ok($$ update platform_audit.events set details = '{}' $$, '42501', null, 'a signed-in user cannot update it');
select throws_ok($$ delete from platform_audit.events $$, '42501', null, 'a signed-in user cannot delete from it');
select throws_ok($$ select platform_backend.record_audit_event('forged.event', null) $$, '42501', null, 'a signed-in user cannot write events');
reset role;

select tests.act_as('anonymous');
select throws_ok($$ select count(*) from platform_audit.events $$, '42501', null, 'anonymous callers cannot read the audit log');
select throws_ok($$ delete from platform_audit.events $$, '42501', null, 'anonymous callers cannot delete from it');
reset role;

select policies_are('platform_audit', 'events', array['select_for_platform_admins'], 'the audit log has only the admins'' read policy');

select * from finish();
rollback;
