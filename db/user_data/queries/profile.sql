/* A user's profile: one row per user, created on first save. Run inside
   withUserContext. */

/* @name getProfile */
select business_name, industry, website_url, content_goals, preferences, created_at, updated_at
  from user_data.user_profiles;

/* Creates the profile or changes the columns named in fields (to null too,
   as in the API's patches); the others keep their value. */
/* @name saveProfile */
insert into user_data.user_profiles (business_name, industry, website_url, content_goals, preferences)
values (:businessName, :industry, :websiteUrl, coalesce(:contentGoals::jsonb, '[]'), coalesce(:preferences::jsonb, '{}'))
on conflict (user_id) do update
   set business_name = case when 'business_name' = any (:fields!::text[]) then excluded.business_name else user_profiles.business_name end,
       industry = case when 'industry' = any (:fields!::text[]) then excluded.industry else user_profiles.industry end,
       website_url = case when 'website_url' = any (:fields!::text[]) then excluded.website_url else user_profiles.website_url end,
       content_goals = case when 'content_goals' = any (:fields!::text[]) then :contentGoals::jsonb else user_profiles.content_goals end,
       preferences = case when 'preferences' = any (:fields!::text[]) then :preferences::jsonb else user_profiles.preferences end
returning business_name, industry, website_url, content_goals, preferences, created_at, updated_at;

/* The empty profile every account starts with; a no-op when it exists. */
/* @name ensureProfile */
insert into user_data.user_profiles default values
on conflict (user_id) do nothing;
