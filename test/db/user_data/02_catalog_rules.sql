-- Catalog-driven rules that every table in user_data must follow, including
-- tables added later: forced RLS with a policy for each command, an index that
-- leads with user_id, and keys ready for distribution by user_id.
begin;
select plan(9);

create temp view user_tables as
  select c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
    from pg_class c
   where c.relnamespace = 'user_data'::regnamespace and c.relkind in ('r', 'p');

select isnt_empty('select 1 from user_tables', 'the catalog checks below have tables to check');

select is_empty($$ select relname from user_tables where not relrowsecurity $$,
  'every user-data table has row-level security enabled');
select is_empty($$ select relname from user_tables where not relforcerowsecurity $$,
  'every user-data table forces row-level security, even for its owner');

select is_empty($$
  select t.relname || ' lacks a ' || cmd.name || ' policy'
    from user_tables t
   cross join (values ('r', 'select'), ('a', 'insert'), ('w', 'update'), ('d', 'delete')) as cmd (code, name)
   where not exists (
     select 1 from pg_policy p
      where p.polrelid = t.oid and p.polcmd in (cmd.code, '*') and p.polpermissive
        and p.polroles <> array[0::oid])
$$, 'every user-data table has a policy, naming its role, for select, insert, update and delete');

select is_empty($$
  select t.relname || '.' || p.polname
    from user_tables t join pg_policy p on p.polrelid = t.oid
   where p.polcmd in ('a', 'w', '*') and p.polwithcheck is null
$$, 'every policy that lets rows be written has a WITH CHECK');

select is_empty($$
  select t.relname || '.' || p.polname
    from user_tables t join pg_policy p on p.polrelid = t.oid
   where coalesce(pg_get_expr(p.polqual, p.polrelid), '') || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
         not like '%( SELECT user_data.current_user_id() AS current_user_id)%'
$$, 'every policy compares with the current user through a once-per-statement scalar subquery');

select is_empty($$
  select t.relname from user_tables t
   where not exists (
     select 1 from pg_index i
      where i.indrelid = t.oid
        and i.indkey[0] = (select attnum from pg_attribute where attrelid = t.oid and attname = 'user_id'))
$$, 'every user-data table has an index that leads with user_id');

select is_empty($$
  select t.relname || '.' || con.conname
    from user_tables t join pg_constraint con on con.conrelid = t.oid
   where con.contype in ('p', 'u')
     and not (select attnum from pg_attribute where attrelid = t.oid and attname = 'user_id') = any (con.conkey)
$$, 'every primary key and unique constraint includes user_id (distributable by user_id)');

select is_empty($$
  select t.relname || '.' || con.conname
    from user_tables t join pg_constraint con on con.conrelid = t.oid
   where con.contype = 'f'
     and con.confrelid in (select oid from user_tables)
     and not exists (
       select 1 from unnest(con.conkey, con.confkey) as k (local, remote)
        where k.local = (select attnum from pg_attribute where attrelid = con.conrelid and attname = 'user_id')
          and k.remote = (select attnum from pg_attribute where attrelid = con.confrelid and attname = 'user_id'))
$$, 'every foreign key between user-data tables matches user_id to user_id');

select * from finish();
rollback;
