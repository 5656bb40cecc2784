--! Previous: sha1:bd86196b5f4c8435f56012f439eb84f6217216b3
--! Hash: sha1:b66bcb9af808dd5a52c1fb196c1bbd4a80e27d17

-- API naming lives in db/user_data/postgraphile.tags.json5 (PostGraphile's tags
-- file) from now on: renaming something in the API changes no migration. The
-- comments 000002 turned into smart tags are plain descriptions again.
comment on table user_data.user_profiles is 'A user''s business information and preferences: one row per user.';
comment on table user_data.user_projects is 'A workspace grouping a user''s content of one kind (blog, podcast, video, research, social...).';
comment on table user_data.user_personas is 'An AI writing persona: the voice, tone and audience content is generated for.';
comment on table user_data.user_content_assets is 'A piece of user-generated content (post, script, report...) in one of the user''s projects.';

comment on constraint user_content_assets_project_fkey on user_data.user_content_assets is null;
comment on constraint user_content_assets_persona_fkey on user_data.user_content_assets is null;

comment on column user_data.user_profiles.user_id is 'The user the profile belongs to.';
comment on column user_data.user_projects.user_id is 'The user the project belongs to.';
comment on column user_data.user_personas.user_id is 'The user the persona belongs to.';
comment on column user_data.user_content_assets.user_id is 'The user the asset belongs to.';

comment on function user_data.current_user_id() is
  'The signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select user_data.current_user_id()) so it runs once per statement.';
