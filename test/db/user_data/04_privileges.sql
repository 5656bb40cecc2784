-- Least privilege in the user-data database: only the owner changes the schema,
-- PUBLIC has no rights, and each role holds only what the API needs.
begin;
select plan(12);

select tests.act_as('anyUser');
select throws_ok('create table user_data.sneaky (id int)', '42501', null, 'authenticated users cannot create tables in user_data');
select throws_ok('create table public.sneaky (id int)', '42501', null, 'authenticated users cannot create tables in public');
select throws_ok('create schema sneaky', '42501', null, 'authenticated users cannot create schemas');
select throws_ok('alter table user_data.user_projects add column sneaky int', '42501', null, 'authenticated users cannot alter tables');
select throws_ok('drop policy select_own on user_data.user_projects', '42501', null, 'authenticated users cannot drop policies');
select throws_ok('alter table user_data.user_projects disable row level security', '42501', null, 'authenticated users cannot switch row-level security off');
select throws_ok('create temp table sneaky (id int)', '42501', null, 'authenticated users cannot create temporary tables');
reset role;

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace in ('user_data'::regnamespace, 'user_data_private'::regnamespace)
     and pg_get_userbyid(c.relowner) <> ':DATABASE_OWNER'
$$, 'the owner owns every relation');
select is_empty($$
  select n.nspname from pg_namespace n
   where n.nspname in ('user_data', 'user_data_private', 'public')
     and (has_schema_privilege('public', n.oid, 'CREATE') or (n.nspname <> 'public' and has_schema_privilege('public', n.oid, 'USAGE')))
$$, 'PUBLIC can neither create in nor use the application schemas');
select ok(not has_database_privilege('public', current_database(), 'CONNECT') and not has_database_privilege('public', current_database(), 'TEMPORARY'),
  'PUBLIC can neither connect to the database nor create temporary tables');
select is_empty($$
  select p.proname from pg_proc p
   where p.pronamespace in ('user_data'::regnamespace, 'user_data_private'::regnamespace)
     and has_function_privilege('public', p.oid, 'EXECUTE')
$$, 'PUBLIC cannot execute the application''s functions');
select ok(not has_schema_privilege(':DATABASE_ANONYMOUS', 'user_data', 'USAGE') and not has_schema_privilege(':DATABASE_PLATFORM_ADMIN', 'user_data', 'USAGE'),
  'neither the anonymous role nor the platform admin can reach users'' content');

select * from finish();
rollback;
