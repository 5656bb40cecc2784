--! Previous: sha1:421b10533a716a5b99cbf4132a5bcf6f60cf97e2
--! Hash: sha1:dd2a478fdf3e4929a6ea53891cc119576eec41b3

-- The GraphQL API's view of the user-data database: names a front-end developer
-- would choose, relations, and the user_id column kept out of inputs (it
-- defaults to the signed-in user).

comment on table user_data.user_profiles is
  E'@name profile\nA user''s business information and preferences: one row per user.';
comment on table user_data.user_projects is
  E'@name project\nA workspace grouping a user''s content of one kind (blog, podcast, video, research, social...).';
comment on table user_data.user_personas is
  E'@name persona\nAn AI writing persona: the voice, tone and audience content is generated for.';
comment on table user_data.user_content_assets is
  E'@name asset\nA piece of user-generated content (post, script, report...) in one of the user''s projects.';

comment on constraint user_content_assets_project_fkey on user_data.user_content_assets is E'@fieldName project\n@foreignFieldName assets';
comment on constraint user_content_assets_persona_fkey on user_data.user_content_assets is E'@fieldName persona\n@foreignFieldName assets';

comment on column user_data.user_profiles.user_id is E'@behavior -insert -update\nThe user the profile belongs to.';
comment on column user_data.user_projects.user_id is E'@behavior -insert -update\nThe user the project belongs to.';
comment on column user_data.user_personas.user_id is E'@behavior -insert -update\nThe user the persona belongs to.';
comment on column user_data.user_content_assets.user_id is E'@behavior -insert -update\nThe user the asset belongs to.';

-- Each database has its own current_user_id(); the API shows the platform's
-- (resource names must be unique across the two databases).
comment on function user_data.current_user_id() is
  E'@name user_data_current_user_id\n@behavior -*\nThe signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select user_data.current_user_id()) so it runs once per statement.';

drop function if exists user_data.current_profile();
create function user_data.current_profile() returns user_data.user_profiles
  language sql stable
  set search_path = pg_catalog
as $$
  select p.* from user_data.user_profiles p where p.user_id = (select user_data.current_user_id())
$$;
comment on function user_data.current_profile() is 'The signed-in user''s profile (created with their account on their first request).';
grant execute on function user_data.current_profile() to :DATABASE_AUTHENTICATED;
