--! Previous: sha1:b66bcb9af808dd5a52c1fb196c1bbd4a80e27d17
--! Hash: sha1:bb94bca07831fe5608aa32a6b9af734db3e061c5

-- The lists people reach for first: projects, assets and personas by name,
-- type, status and date. PostGraphile offers ordering and filtering on
-- indexed columns only, and every index here leads with user_id: row-level
-- security adds user_id = the signed-in user to every query, so one index
-- serves both that condition and the list's own. (Built inside the
-- migration's transaction: the tables are small enough; a large table would
-- want create index concurrently under --! no-transaction.)
drop index if exists user_data.user_projects_user_name_idx;
create index user_projects_user_name_idx on user_data.user_projects (user_id, project_name);
drop index if exists user_data.user_projects_user_type_idx;
create index user_projects_user_type_idx on user_data.user_projects (user_id, project_type, created_at desc);
drop index if exists user_data.user_projects_user_archived_idx;
create index user_projects_user_archived_idx on user_data.user_projects (user_id, is_archived, created_at desc);
drop index if exists user_data.user_projects_user_updated_idx;
create index user_projects_user_updated_idx on user_data.user_projects (user_id, updated_at desc);

drop index if exists user_data.user_content_assets_user_title_idx;
create index user_content_assets_user_title_idx on user_data.user_content_assets (user_id, title);
drop index if exists user_data.user_content_assets_user_type_idx;
create index user_content_assets_user_type_idx on user_data.user_content_assets (user_id, asset_type, created_at desc);
drop index if exists user_data.user_content_assets_user_updated_idx;
create index user_content_assets_user_updated_idx on user_data.user_content_assets (user_id, updated_at desc);

drop index if exists user_data.user_personas_user_created_idx;
create index user_personas_user_created_idx on user_data.user_personas (user_id, created_at desc);
drop index if exists user_data.user_personas_user_updated_idx;
create index user_personas_user_updated_idx on user_data.user_personas (user_id, updated_at desc);
