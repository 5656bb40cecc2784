-- Tenant isolation in the user-data database, acting as the real API roles.
-- User A = 11111111-..., user B = 22222222-...
begin;
select plan(44);

-- The scene, set by the owner (who bypasses RLS to do so).
set local role :DATABASE_OWNER;
insert into user_data.user_profiles (user_id, business_name) values
  ('11111111-1111-4111-8111-111111111111', 'A Media'),
  ('22222222-2222-4222-8222-222222222222', 'B Studio');
insert into user_data.user_projects (id, user_id, project_name, project_type) values
  ('a0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'A blog', 'blog'),
  ('b0000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'B podcast', 'podcast');
insert into user_data.user_personas (id, user_id, persona_name) values
  ('a0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'A voice'),
  ('b0000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'B voice');
insert into user_data.user_content_assets (id, user_id, project_id, asset_type, title) values
  ('a0000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000001', 'blog_post', 'A post'),
  ('b0000000-0000-4000-8000-000000000003', '22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000001', 'podcast_episode', 'B episode');
-- A is on Pro, so creating a second persona below is within their plan (limits: 06_entitlements.sql).
insert into user_data.user_entitlements (user_id, plan_name, max_projects, max_personas, monthly_tokens, version) values
  ('11111111-1111-4111-8111-111111111111', 'Pro', 50, 10, 1000000, 1);
-- No test below passes vacuously: B's rows are there.
select is((select count(*)::int from user_data.user_profiles where user_id = '22222222-2222-4222-8222-222222222222'), 1, 'owner: B has a profile');
select is((select count(*)::int from user_data.user_projects where user_id = '22222222-2222-4222-8222-222222222222'), 1, 'owner: B has a project');
select is((select count(*)::int from user_data.user_personas where user_id = '22222222-2222-4222-8222-222222222222'), 1, 'owner: B has a persona');
select is((select count(*)::int from user_data.user_content_assets where user_id = '22222222-2222-4222-8222-222222222222'), 1, 'owner: B has an asset');
reset role;

-- Act as user A through the API's role.
select tests.become('11111111-1111-4111-8111-111111111111');
select is((select rolsuper or rolbypassrls from pg_roles where rolname = current_user), false,
  'the assertions below run as a role subject to row-level security');

-- Reading: A sees exactly their own rows.
select results_eq('select business_name from user_data.user_profiles', $$ values ('A Media'::text) $$, 'A reads only their own profile');
select results_eq('select project_name from user_data.user_projects', $$ values ('A blog'::text) $$, 'A reads only their own projects');
select results_eq('select persona_name from user_data.user_personas', $$ values ('A voice'::text) $$, 'A reads only their own personas');
select results_eq('select title from user_data.user_content_assets', $$ values ('A post'::text) $$, 'A reads only their own assets');
select is_empty($$ select 1 from user_data.user_projects where id = 'b0000000-0000-4000-8000-000000000001' $$, 'A cannot read B''s project even by id');

-- Changing: B's rows are invisible to A's updates and deletes.
select is_empty($$ update user_data.user_profiles set business_name = 'taken' where user_id = '22222222-2222-4222-8222-222222222222' returning 1 $$, 'A cannot update B''s profile');
select is_empty($$ update user_data.user_projects set project_name = 'taken' where id = 'b0000000-0000-4000-8000-000000000001' returning 1 $$, 'A cannot update B''s project');
select is_empty($$ update user_data.user_personas set persona_name = 'taken' where id = 'b0000000-0000-4000-8000-000000000002' returning 1 $$, 'A cannot update B''s persona');
select is_empty($$ update user_data.user_content_assets set title = 'taken' where id = 'b0000000-0000-4000-8000-000000000003' returning 1 $$, 'A cannot update B''s asset');
select is_empty($$ delete from user_data.user_profiles where user_id = '22222222-2222-4222-8222-222222222222' returning 1 $$, 'A cannot delete B''s profile');
select is_empty($$ delete from user_data.user_projects where id = 'b0000000-0000-4000-8000-000000000001' returning 1 $$, 'A cannot delete B''s project');
select is_empty($$ delete from user_data.user_personas where id = 'b0000000-0000-4000-8000-000000000002' returning 1 $$, 'A cannot delete B''s persona');
select is_empty($$ delete from user_data.user_content_assets where id = 'b0000000-0000-4000-8000-000000000003' returning 1 $$, 'A cannot delete B''s asset');

-- Inserting: rows for B are refused by the policies' WITH CHECK.
select throws_ok($$ insert into user_data.user_profiles (user_id, business_name) values ('22222222-2222-4222-8222-222222222222', 'x') $$,
  '42501', 'new row violates row-level security policy for table "user_profiles"', 'A cannot insert a profile for B');
select throws_ok($$ insert into user_data.user_projects (user_id, project_name, project_type) values ('22222222-2222-4222-8222-222222222222', 'x', 'blog') $$,
  '42501', 'new row violates row-level security policy for table "user_projects"', 'A cannot insert a project for B');
select throws_ok($$ insert into user_data.user_personas (user_id, persona_name) values ('22222222-2222-4222-8222-222222222222', 'x') $$,
  '42501', 'new row violates row-level security policy for table "user_personas"', 'A cannot insert a persona for B');
select throws_ok($$ insert into user_data.user_content_assets (user_id, project_id, asset_type) values ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000001', 'blog_post') $$,
  '42501', 'new row violates row-level security policy for table "user_content_assets"', 'A cannot insert an asset for B');

-- Attaching to another user's project fails on the composite foreign key.
select throws_ok($$ insert into user_data.user_content_assets (project_id, asset_type) values ('b0000000-0000-4000-8000-000000000001', 'blog_post') $$,
  '23503', null, 'A cannot attach a new asset to B''s project');
select throws_ok($$ update user_data.user_content_assets set project_id = 'b0000000-0000-4000-8000-000000000001' where id = 'a0000000-0000-4000-8000-000000000003' $$,
  '23503', null, 'A cannot move their asset into B''s project');
select throws_ok($$ update user_data.user_content_assets set persona_id = 'b0000000-0000-4000-8000-000000000002' where id = 'a0000000-0000-4000-8000-000000000003' $$,
  '23503', null, 'A cannot write in B''s persona');
select throws_ok($$ update user_data.user_projects set user_id = '22222222-2222-4222-8222-222222222222' $$,
  '42501', null, 'A cannot hand their project to B by changing user_id');

-- A's own work goes through: insert (user_id defaults to A), update, delete.
select lives_ok($$ insert into user_data.user_projects (id, project_name, project_type) values ('a0000000-0000-4000-8000-000000000009', 'A video', 'video') $$,
  'A can create a project without naming themselves');
select is((select user_id from user_data.user_projects where id = 'a0000000-0000-4000-8000-000000000009'), '11111111-1111-4111-8111-111111111111'::uuid,
  'a new project belongs to the signed-in user');
select lives_ok($$ insert into user_data.user_content_assets (project_id, persona_id, asset_type, title) values ('a0000000-0000-4000-8000-000000000009', 'a0000000-0000-4000-8000-000000000002', 'video_script', 'A script') $$,
  'A can add an asset in their own voice to their own project');
select lives_ok($$ insert into user_data.user_personas (persona_name) values ('A second voice') $$, 'A can create a persona');
select isnt_empty($$ update user_data.user_profiles set business_name = 'A Media Ltd' returning 1 $$, 'A can update their profile');
select isnt_empty($$ update user_data.user_content_assets set title = 'A post, edited' where id = 'a0000000-0000-4000-8000-000000000003' returning 1 $$, 'A can update their asset');
select isnt_empty($$ delete from user_data.user_personas where persona_name = 'A second voice' returning 1 $$, 'A can delete their persona');
select isnt_empty($$ delete from user_data.user_projects where id = 'a0000000-0000-4000-8000-000000000009' returning 1 $$, 'A can delete their project');

-- Without a user, or with a malformed one, nothing is visible and nothing can be written.
select tests.act_as('anyUser');
select is_empty('select 1 from user_data.user_projects union all select 1 from user_data.user_content_assets union all select 1 from user_data.user_personas union all select 1 from user_data.user_profiles',
  'a session without a user sees nothing');
select throws_ok($$ insert into user_data.user_personas (persona_name) values ('nobody''s') $$, '42501', null, 'a session without a user cannot insert');
select set_config('app.current_user_id', 'not-a-uuid'' or true', true);
select is_empty('select 1 from user_data.user_projects union all select 1 from user_data.user_profiles', 'a malformed user id sees nothing (and raises nothing)');
reset role;

select tests.act_as('anonymous');
select throws_ok('select 1 from user_data.user_projects', '42501', null, 'the anonymous role cannot read projects');
select throws_ok('select 1 from user_data.user_content_assets', '42501', null, 'the anonymous role cannot read assets');
reset role;

-- B's rows are untouched, as the owner sees them.
set local role :DATABASE_OWNER;
select is((select business_name from user_data.user_profiles where user_id = '22222222-2222-4222-8222-222222222222'), 'B Studio', 'owner: B''s profile is unchanged');
select is((select project_name from user_data.user_projects where id = 'b0000000-0000-4000-8000-000000000001'), 'B podcast', 'owner: B''s project is unchanged');
select is((select persona_name from user_data.user_personas where id = 'b0000000-0000-4000-8000-000000000002'), 'B voice', 'owner: B''s persona is unchanged');
select is((select title from user_data.user_content_assets where id = 'b0000000-0000-4000-8000-000000000003'), 'B episode', 'owner: B''s asset is unchanged');
select is((select count(*)::int from user_data.user_content_assets where user_id = '22222222-2222-4222-8222-222222222222'), 1, 'owner: B gained no assets');
reset role;

select * from finish();
rollback;
