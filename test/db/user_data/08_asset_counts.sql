-- Asset counts: user_asset_counts holds each user's number of assets, kept by the
-- assets' triggers in the same statement (many rows at once, inserts and deletes);
-- a count that reaches zero goes; users read only their own and write none.
-- Concurrent writers: test/api/asset-counts.test.ts.
begin;
select plan(14);

create temp table ids (a uuid, b uuid, pa uuid, pb uuid);
insert into ids values ('a8000000-0000-4000-8000-00000000000a', 'b8000000-0000-4000-8000-00000000000b',
  'a8000000-0000-4000-8000-0000000000a1', 'b8000000-0000-4000-8000-0000000000b1');
grant select on ids to public;

-- The scene, set by the owner: each user a profile and a project, no assets yet.
set local role :DATABASE_OWNER;
insert into user_data.user_profiles (user_id) select a from ids union all select b from ids;
insert into user_data.user_projects (id, user_id, project_name, project_type)
  select pa, a, 'A blog', 'blog'::user_data.project_type from ids union all select pb, b, 'B blog', 'blog' from ids;
reset role;

select tests.become((select a from ids));
select is((select count(*)::int from user_data.user_asset_counts), 0, 'a user without assets has no count');
insert into user_data.user_content_assets (project_id, asset_type, title)
  select (select pa from ids), 'blog_post', 'A ' || g from generate_series(1, 5) g;
select is((select assets::int from user_data.user_asset_counts), 5, 'five assets in one statement count five');
insert into user_data.user_content_assets (project_id, asset_type, title) values ((select pa from ids), 'blog_post', 'A 6');
select is((select assets::int from user_data.user_asset_counts), 6, 'one more counts one more');
delete from user_data.user_content_assets where title in ('A 1', 'A 2');
select is((select assets::int from user_data.user_asset_counts), 4, 'two deleted in one statement count two less');
select is((select assets::int from user_data.user_asset_counts), (select count(*)::int from user_data.user_content_assets), 'the count is the number of rows');

select tests.become((select b from ids));
insert into user_data.user_content_assets (project_id, asset_type, title) values ((select pb from ids), 'podcast_episode', 'B 1');
select is((select count(*)::int from user_data.user_asset_counts), 1, 'B reads one count');
select is((select assets::int from user_data.user_asset_counts), 1, 'their own, not A''s');
select throws_ok($$ update user_data.user_asset_counts set assets = 1000 $$, '42501', null, 'a user cannot change their count');
select throws_ok($$ insert into user_data.user_asset_counts (user_id, assets) values ((select a from ids), 1) $$, '42501', null,
  'nor write one for anyone');
select throws_ok($$ delete from user_data.user_asset_counts $$, '42501', null, 'nor delete one');
delete from user_data.user_content_assets;
select is((select count(*)::int from user_data.user_asset_counts), 0, 'B''s count goes with B''s last asset');

-- Deleting a project deletes its assets (cascade): the counts follow.
select tests.become((select a from ids));
delete from user_data.user_projects where id = (select pa from ids);
select is((select count(*)::int from user_data.user_asset_counts), 0, 'a project''s deletion takes its assets out of the count');
reset role;

set local role :DATABASE_OWNER;
select is((select count(*)::int from user_data.user_asset_counts where user_id in ((select a from ids), (select b from ids))), 0,
  'owner: no count is left for either user');
select is((select count(*)::int from user_data.user_content_assets where user_id in ((select a from ids), (select b from ids))), 0,
  'owner: and no asset');
reset role;

select * from finish();
rollback;
