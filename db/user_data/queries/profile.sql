/* A user's profile: one row per user, created on first save. Run inside
   withUserContext. */

/* @name getProfile */
select business_name, industry, website_url, content_goals, preferences, created_at, updated_at
  from user_data.user_profiles;

/* Creates the profile or changes the fields given; the others keep their value. */
/* @name saveProfile */
insert into user_data.user_profiles (business_name, industry, website_url, content_goals, preferences)
values (:businessName, :industry, :websiteUrl, coalesce(:contentGoals::jsonb, '[]'), coalesce(:preferences::jsonb, '{}'))
on conflict (user_id) do update
   set business_name = coalesce(:businessName, user_profiles.business_name),
       industry = coalesce(:industry, user_profiles.industry),
       website_url = coalesce(:websiteUrl, user_profiles.website_url),
       content_goals = coalesce(:contentGoals, user_profiles.content_goals),
       preferences = coalesce(:preferences, user_profiles.preferences)
returning business_name, industry, website_url, content_goals, preferences, created_at, updated_at;

/* The empty profile every account starts with; a no-op when it exists. */
/* @name ensureProfile */
insert into user_data.user_profiles default values
on conflict (user_id) do nothing;
