-- The user-data schema: tables, key columns and their types, keys.
begin;
select plan(27);

select tables_are('user_data', array['user_profiles', 'user_projects', 'user_content_assets', 'user_personas', 'user_entitlements', 'user_asset_counts'],
  'user_data holds exactly the six user-data tables');

select col_type_is('user_data', 'user_profiles', 'user_id', 'uuid', 'user_profiles.user_id is a uuid');
select col_type_is('user_data', 'user_profiles', 'business_name', 'text', 'user_profiles.business_name is text');
select col_type_is('user_data', 'user_profiles', 'content_goals', 'jsonb', 'user_profiles.content_goals is jsonb');
select col_type_is('user_data', 'user_profiles', 'preferences', 'jsonb', 'user_profiles.preferences is jsonb');
select col_is_pk('user_data', 'user_profiles', array['user_id'], 'a user has one profile');

select col_type_is('user_data', 'user_projects', 'id', 'uuid', 'user_projects.id is a uuid');
select col_type_is('user_data', 'user_projects', 'project_name', 'text', 'user_projects.project_name is text');
select col_type_is('user_data', 'user_projects', 'project_type', 'user_data.project_type', 'user_projects.project_type is the project_type enum');
select col_type_is('user_data', 'user_projects', 'project_metadata', 'jsonb', 'user_projects.project_metadata is jsonb');
select col_is_pk('user_data', 'user_projects', array['user_id', 'id'], 'user_projects is keyed by (user_id, id)');
select ok(enum_range(null::user_data.project_type)::text[] @> array['blog', 'podcast', 'video', 'research', 'social'],
  'project types cover blog, podcast, video, research and social');

select col_type_is('user_data', 'user_content_assets', 'project_id', 'uuid', 'user_content_assets.project_id is a uuid');
select col_type_is('user_data', 'user_content_assets', 'asset_type', 'user_data.asset_type', 'user_content_assets.asset_type is the asset_type enum');
select col_type_is('user_data', 'user_content_assets', 'content', 'text', 'user_content_assets.content is text');
select col_type_is('user_data', 'user_content_assets', 'seo_data', 'jsonb', 'user_content_assets.seo_data is jsonb');
select col_is_pk('user_data', 'user_content_assets', array['user_id', 'id'], 'user_content_assets is keyed by (user_id, id)');
select fk_ok('user_data', 'user_content_assets', array['user_id', 'project_id'], 'user_data', 'user_projects', array['user_id', 'id'],
  'an asset''s project is found by (user_id, project_id)');
select fk_ok('user_data', 'user_content_assets', array['user_id', 'persona_id'], 'user_data', 'user_personas', array['user_id', 'id'],
  'an asset''s persona is found by (user_id, persona_id)');

select col_type_is('user_data', 'user_personas', 'persona_name', 'text', 'user_personas.persona_name is text');
select col_type_is('user_data', 'user_personas', 'characteristics', 'jsonb', 'user_personas.characteristics is jsonb');
select col_is_pk('user_data', 'user_personas', array['user_id', 'id'], 'user_personas is keyed by (user_id, id)');
select col_is_unique('user_data', 'user_personas', array['user_id', 'persona_name'], 'persona names are unique per user');

select is_empty($$
  select c.relname || '.' || a.attname
    from pg_attribute a join pg_class c on c.oid = a.attrelid
   where c.relnamespace = 'user_data'::regnamespace and c.relkind in ('r', 'p')
     and a.attname = 'user_id' and not a.attnotnull
$$, 'every user_id column is not null');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'user_data'::regnamespace and c.relkind in ('r', 'p')
     and not exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and a.atttypid = 'uuid'::regtype)
$$, 'every user-data table has a uuid user_id');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'user_data'::regnamespace and c.relkind in ('r', 'p')
     and not exists (select 1 from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_100_timestamps')
$$, 'every user-data table keeps its timestamps with a trigger');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'user_data'::regnamespace and c.relkind in ('r', 'p')
     and not exists (select 1 from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_200_user_id_immutable')
$$, 'every user-data table refuses to change user_id');

select * from finish();
rollback;
