--! Previous: -
--! Hash: sha1:421b10533a716a5b99cbf4132a5bcf6f60cf97e2

-- User-data database: each user's profile, projects, content assets and personas.
-- Every row belongs to one user_id and is isolated by forced row-level security.
-- Keys are ready for distribution by user_id (Citus): every primary key, unique
-- constraint and foreign key between these tables includes user_id.
-- Roles come from the topology spec through placeholders; they are never created here.

--------------------------------------------------------------------------------
revoke all on database :DATABASE_NAME from public;
grant connect on database :DATABASE_NAME to :DATABASE_AUTHENTICATOR;
revoke all on schema public from public;
alter default privileges revoke execute on functions from public;

create schema user_data;
comment on schema user_data is 'Each user''s own content: what the API exposes of the user-data database.';
create schema user_data_private;
comment on schema user_data_private is 'Trigger functions and helpers; never exposed, never granted.';

-- The platform admin has no access to users' content: analytics live in the platform database.
grant usage on schema user_data to :DATABASE_AUTHENTICATED;

--------------------------------------------------------------------------------
create function user_data.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path = pg_catalog
as $$
  -- A missing, empty or malformed setting means "nobody": null matches no row.
  select case
    when setting ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then setting::uuid
  end
  from (select current_setting('app.current_user_id', true) as setting) as s
$$;
comment on function user_data.current_user_id() is
  'The signed-in user''s id, from the transaction-local setting app.current_user_id; null when unset or malformed. Policies call it as (select user_data.current_user_id()) so it runs once per statement.';
grant execute on function user_data.current_user_id() to :DATABASE_AUTHENTICATED;

create function user_data_private.tg__timestamps() returns trigger
  language plpgsql
  set search_path = pg_catalog
as $$
begin
  if tg_op = 'INSERT' then
    new.created_at := now();
  else
    new.created_at := old.created_at;
  end if;
  new.updated_at := now();
  return new;
end;
$$;
comment on function user_data_private.tg__timestamps() is 'Keeps created_at and updated_at truthful whatever the client sends.';

create function user_data_private.tg__user_id_immutable() returns trigger
  language plpgsql
  set search_path = pg_catalog
as $$
begin
  if new.user_id is distinct from old.user_id then
    raise exception 'user_id cannot be changed' using errcode = '42501';
  end if;
  return new;
end;
$$;
comment on function user_data_private.tg__user_id_immutable() is 'A row never moves from one user to another, whoever updates it.';

--------------------------------------------------------------------------------
create type user_data.project_type as enum ('blog', 'podcast', 'video', 'research', 'social', 'newsletter', 'ebook', 'other');
comment on type user_data.project_type is 'The kinds of work a project holds.';

create type user_data.asset_type as enum (
  'blog_post', 'podcast_episode', 'video_script', 'research_report', 'social_post',
  'newsletter', 'outline', 'image', 'other'
);
comment on type user_data.asset_type is 'The kinds of content an asset can be.';

--------------------------------------------------------------------------------
create table user_data.user_profiles (
  user_id uuid not null default user_data.current_user_id(),
  business_name text check (length(business_name) between 1 and 200),
  industry text check (length(industry) between 1 and 100),
  website_url text check (website_url ~ '^https?://' and length(website_url) <= 2000),
  content_goals jsonb not null default '[]' check (jsonb_typeof(content_goals) in ('array', 'object')),
  preferences jsonb not null default '{}' check (jsonb_typeof(preferences) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id)
);
comment on table user_data.user_profiles is 'A user''s business information and preferences: one row per user.';
comment on column user_data.user_profiles.content_goals is 'What the user wants their content to achieve (a list, or an object of named goals).';
comment on column user_data.user_profiles.preferences is 'UI and generation preferences, e.g. tone, language, default persona.';
create trigger _100_timestamps before insert or update on user_data.user_profiles
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_profiles
  for each row execute function user_data_private.tg__user_id_immutable();

--------------------------------------------------------------------------------
create table user_data.user_projects (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default user_data.current_user_id(),
  project_name text not null check (length(project_name) between 1 and 200),
  project_type user_data.project_type not null,
  description text check (length(description) <= 5000),
  project_metadata jsonb not null default '{}' check (jsonb_typeof(project_metadata) = 'object'),
  is_archived boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, id)
);
comment on table user_data.user_projects is 'A workspace grouping a user''s content of one kind (blog, podcast, video, research, social...).';
comment on column user_data.user_projects.project_metadata is 'Free-form settings of the project, e.g. target audience or publishing schedule.';
-- A user's projects, newest first (the primary key already serves lookups by id).
create index user_projects_user_recent_idx on user_data.user_projects (user_id, created_at desc);
create trigger _100_timestamps before insert or update on user_data.user_projects
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_projects
  for each row execute function user_data_private.tg__user_id_immutable();

--------------------------------------------------------------------------------
create table user_data.user_personas (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default user_data.current_user_id(),
  persona_name text not null check (length(persona_name) between 1 and 100),
  description text check (length(description) <= 5000),
  characteristics jsonb not null default '{}' check (jsonb_typeof(characteristics) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, id),
  constraint user_personas_name_per_user_key unique (user_id, persona_name)
);
comment on table user_data.user_personas is 'An AI writing persona: the voice, tone and audience content is generated for.';
comment on column user_data.user_personas.characteristics is 'Tone, style, vocabulary, audience and other traits the generator follows.';
create trigger _100_timestamps before insert or update on user_data.user_personas
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_personas
  for each row execute function user_data_private.tg__user_id_immutable();

--------------------------------------------------------------------------------
create table user_data.user_content_assets (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null default user_data.current_user_id(),
  project_id uuid not null,
  persona_id uuid,
  asset_type user_data.asset_type not null,
  title text check (length(title) between 1 and 500),
  content text not null default '' check (length(content) <= 1000000),
  seo_data jsonb not null default '{}' check (jsonb_typeof(seo_data) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, id),
  -- Composite keys: an asset can only hang off a project (or persona) of the same user.
  constraint user_content_assets_project_fkey foreign key (user_id, project_id)
    references user_data.user_projects (user_id, id) on delete cascade,
  constraint user_content_assets_persona_fkey foreign key (user_id, persona_id)
    references user_data.user_personas (user_id, id) on delete set null (persona_id)
);
comment on table user_data.user_content_assets is 'A piece of user-generated content (post, script, report...) in one of the user''s projects.';
comment on column user_data.user_content_assets.persona_id is 'The persona the content was written in, if any.';
comment on column user_data.user_content_assets.seo_data is 'Keywords, meta description, slug and other SEO data.';
-- A project's assets, newest first; also serves the project foreign key.
create index user_content_assets_project_recent_idx on user_data.user_content_assets (user_id, project_id, created_at desc);
create index user_content_assets_persona_idx on user_data.user_content_assets (user_id, persona_id) where persona_id is not null;
create trigger _100_timestamps before insert or update on user_data.user_content_assets
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_content_assets
  for each row execute function user_data_private.tg__user_id_immutable();

--------------------------------------------------------------------------------
-- Row-level security: a signed-in user reads and writes their own rows only.
alter table user_data.user_profiles enable row level security;
alter table user_data.user_profiles force row level security;
create policy select_own on user_data.user_profiles for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
create policy insert_own on user_data.user_profiles for insert to :DATABASE_AUTHENTICATED
  with check (user_id = (select user_data.current_user_id()));
create policy update_own on user_data.user_profiles for update to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_own on user_data.user_profiles for delete to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));

alter table user_data.user_projects enable row level security;
alter table user_data.user_projects force row level security;
create policy select_own on user_data.user_projects for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
create policy insert_own on user_data.user_projects for insert to :DATABASE_AUTHENTICATED
  with check (user_id = (select user_data.current_user_id()));
create policy update_own on user_data.user_projects for update to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_own on user_data.user_projects for delete to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));

alter table user_data.user_personas enable row level security;
alter table user_data.user_personas force row level security;
create policy select_own on user_data.user_personas for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
create policy insert_own on user_data.user_personas for insert to :DATABASE_AUTHENTICATED
  with check (user_id = (select user_data.current_user_id()));
create policy update_own on user_data.user_personas for update to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_own on user_data.user_personas for delete to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));

alter table user_data.user_content_assets enable row level security;
alter table user_data.user_content_assets force row level security;
create policy select_own on user_data.user_content_assets for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
create policy insert_own on user_data.user_content_assets for insert to :DATABASE_AUTHENTICATED
  with check (user_id = (select user_data.current_user_id()));
create policy update_own on user_data.user_content_assets for update to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_own on user_data.user_content_assets for delete to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));

comment on policy select_own on user_data.user_content_assets is 'A signed-in user reads only their own assets.';
comment on policy insert_own on user_data.user_content_assets is 'New assets belong to the signed-in user; the composite foreign key keeps them in that user''s projects.';

--------------------------------------------------------------------------------
-- Grants: what the API needs, column by column where only some columns may be written.
-- user_id defaults to the signed-in user; it may be given on insert (the policies' WITH CHECK
-- then insists it is the signed-in user) but never changed.
grant select, delete on user_data.user_profiles, user_data.user_projects, user_data.user_personas, user_data.user_content_assets
  to :DATABASE_AUTHENTICATED;
grant insert (user_id, business_name, industry, website_url, content_goals, preferences),
      update (business_name, industry, website_url, content_goals, preferences)
  on user_data.user_profiles to :DATABASE_AUTHENTICATED;
grant insert (user_id, id, project_name, project_type, description, project_metadata, is_archived),
      update (project_name, project_type, description, project_metadata, is_archived)
  on user_data.user_projects to :DATABASE_AUTHENTICATED;
grant insert (user_id, id, persona_name, description, characteristics),
      update (persona_name, description, characteristics)
  on user_data.user_personas to :DATABASE_AUTHENTICATED;
grant insert (user_id, id, project_id, persona_id, asset_type, title, content, seo_data),
      update (project_id, persona_id, asset_type, title, content, seo_data)
  on user_data.user_content_assets to :DATABASE_AUTHENTICATED;
