-- The current user as policies see it: a well-formed uuid from the
-- transaction-local setting, and null (never an error) for anything else.
-- Run against each database (test/db/both/): :DATABASE_SCHEMA is its schema.
-- The setting is written raw here, malformed on purpose, which tests.become
-- (a uuid) cannot do.
begin;
select plan(9);

select tests.act_as('anyUser');
select set_config('app.current_user_id', '11111111-1111-4111-8111-111111111111', true);
select is(:DATABASE_SCHEMA.current_user_id(), '11111111-1111-4111-8111-111111111111'::uuid, 'a well-formed id is the current user');
select set_config('app.current_user_id', 'ABCDEF01-2345-4789-8ABC-DEF012345678', true);
select is(:DATABASE_SCHEMA.current_user_id(), 'abcdef01-2345-4789-8abc-def012345678'::uuid, 'upper-case hex is accepted');
select set_config('app.current_user_id', '', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'an empty setting is nobody');
select set_config('app.current_user_id', 'not-a-uuid', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'a malformed setting is nobody');
select set_config('app.current_user_id', '{11111111-1111-4111-8111-111111111111}', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'a braced uuid is nobody');
select set_config('app.current_user_id', '1111-11111111-4111-8111-111111111111', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'misplaced hyphens are nobody, not an error');
select set_config('app.current_user_id', '11111111-1111-4111-8111-11111111111g', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'a non-hex digit is nobody, not an error');
select set_config('app.current_user_id', '11111111111141118111111111111111----', true);
select is(:DATABASE_SCHEMA.current_user_id(), null, 'hyphens at the end are nobody, not an error');
select tests.act_as('login');
select is((select p.prosecdef or p.proconfig is not null from pg_proc p where p.oid = ':DATABASE_SCHEMA.current_user_id()'::regprocedure), false,
  'current_user_id() has no SET clause and no definer rights, so the planner can inline it');

select * from finish();
rollback;
