-- Idempotency keys (idempotency.idempotency_keys): the catalog rules of a
-- user-owned table, and isolation acting as the real API role: user A cannot
-- read, take over, change or delete user B's key, even one with the same text.
-- User A = 11111111-..., user B = 22222222-...
begin;
select plan(17);

select is((select relrowsecurity and relforcerowsecurity from pg_class where oid = 'idempotency.idempotency_keys'::regclass), true,
  'row-level security is enabled and forced on idempotency_keys');
select results_eq($$ select polname::text collate "default" from pg_policy where polrelid = 'idempotency.idempotency_keys'::regclass order by 1 $$,
  $$ values ('delete_own'), ('insert_own'), ('select_own'), ('update_own') $$, 'a policy for each command');
select is_empty($$ select polname from pg_policy where polrelid = 'idempotency.idempotency_keys'::regclass and polcmd in ('a', 'w') and polwithcheck is null $$,
  'the insert and update policies have a WITH CHECK');
select is((select pg_get_indexdef(conindid) from pg_constraint where conrelid = 'idempotency.idempotency_keys'::regclass and contype = 'p'),
  'CREATE UNIQUE INDEX idempotency_keys_pkey ON idempotency.idempotency_keys USING btree (user_id, idempotency_key)', 'the key leads with user_id');
select isnt(obj_description('idempotency.idempotency_keys'::regclass, 'pg_class'), null, 'the table has a comment');
select is_empty($$ select attname from pg_attribute where attrelid = 'idempotency.idempotency_keys'::regclass and attnum > 0 and not attisdropped
                   and col_description(attrelid, attnum) is null and attname not in ('user_id', 'created_at') $$, 'every column but user_id and created_at has a comment');

-- The scene, set by the owner: two users, who both used the key 'same-key'.
set local role :DATABASE_OWNER;
insert into platform.users (id, clerk_id, email) values
  ('11111111-1111-4111-8111-111111111111', 'user_tap_idem_a', 'a@idem.test'),
  ('22222222-2222-4222-8222-222222222222', 'user_tap_idem_b', 'b@idem.test');
insert into idempotency.idempotency_keys (user_id, idempotency_key, request_hash, status_code, response_body, expires_at) values
  ('11111111-1111-4111-8111-111111111111', 'same-key', repeat('a', 64), 200, '{"data":"A"}', now() + interval '1 day'),
  ('22222222-2222-4222-8222-222222222222', 'same-key', repeat('b', 64), 200, '{"data":"B"}', now() + interval '1 day'),
  ('22222222-2222-4222-8222-222222222222', 'b-only', repeat('b', 64), 200, '{"data":"B2"}', now() + interval '1 day');
reset role;

select tests.become('11111111-1111-4111-8111-111111111111');
select is((select rolsuper or rolbypassrls from pg_roles where rolname = current_user), false,
  'the assertions below run as a role subject to row-level security');
select results_eq('select response_body from idempotency.idempotency_keys', $$ values ('{"data":"A"}'::text) $$, 'A reads only their own keys');
select is_empty($$ select 1 from idempotency.idempotency_keys where idempotency_key = 'b-only' $$, 'A cannot find B''s key by its text');
select is_empty($$ update idempotency.idempotency_keys set response_body = 'taken' where user_id = '22222222-2222-4222-8222-222222222222' returning 1 $$,
  'A cannot change B''s stored answer');
select is_empty($$ delete from idempotency.idempotency_keys where user_id = '22222222-2222-4222-8222-222222222222' returning 1 $$, 'A cannot delete B''s keys');
select throws_ok($$ insert into idempotency.idempotency_keys (user_id, idempotency_key, request_hash, status_code, response_body, expires_at)
                    values ('22222222-2222-4222-8222-222222222222', 'planted', repeat('c', 64), 200, '{}', now() + interval '1 day') $$,
  '42501', 'new row violates row-level security policy for table "idempotency_keys"', 'A cannot store a key for B');
-- Reusing B's key text: A's own row, on A's own key (the conflict is with A's row, never B's).
select lives_ok($$ insert into idempotency.idempotency_keys (idempotency_key, request_hash, status_code, response_body, expires_at)
                   values ('b-only', repeat('c', 64), 200, '{"data":"A2"}', now() + interval '1 day') $$, 'A may use a key text B also used, as their own');
select throws_ok($$ update idempotency.idempotency_keys set user_id = '22222222-2222-4222-8222-222222222222' where idempotency_key = 'b-only' $$,
  '42501', null, 'A cannot move a key to B');
select throws_ok($$ select platform_backend.expire_idempotency_keys(10) $$, '42501', null, 'a user cannot run the expiry (the platform admin''s)');
reset role;

set local role :DATABASE_OWNER;
select results_eq($$ select user_id::text, response_body from idempotency.idempotency_keys where idempotency_key = 'b-only' order by 1 $$,
  $$ values ('11111111-1111-4111-8111-111111111111', '{"data":"A2"}'), ('22222222-2222-4222-8222-222222222222', '{"data":"B2"}') $$,
  'owner: B''s key and answer are untouched beside A''s');
update idempotency.idempotency_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 day' where idempotency_key = 'same-key';
reset role;
select tests.act_as('platformAdmin');
select is(platform_backend.expire_idempotency_keys(1000), 2, 'the platform admin''s expiry deletes the expired keys, and only those');
select * from finish();
rollback;
