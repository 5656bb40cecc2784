/* Analytics for platform admins (platform_analytics): each report over [from, to). */

/* @name dailyActiveUsers */
select r.day::text as "day!", r.active_users as "active_users!", r.events as "events!"
  from platform_analytics.daily_active_users(:from!, :to!) as r;

/* @name monthlyActiveUsers */
select r.month::text as "month!", r.active_users as "active_users!", r.events as "events!"
  from platform_analytics.monthly_active_users(:from!, :to!) as r;

/* @name usageByFeature */
select r.feature as "feature!", r.tokens_used as "tokens_used!", r.cost_usd as "cost_usd!", r.events as "events!", r.users as "users!"
  from platform_analytics.usage_by_feature(:from!, :to!) as r;

/* @name usageByPlan */
select r.plan as "plan!", r.tokens_used as "tokens_used!", r.cost_usd as "cost_usd!", r.events as "events!", r.users as "users!"
  from platform_analytics.usage_by_plan(:from!, :to!) as r;

/* @name planConversions */
select r.from_plan as "from_plan!", r.to_plan as "to_plan!", r.direction as "direction!", r.changes as "changes!", r.users as "users!",
       r.users_on_from_plan as "users_on_from_plan!", r.conversion_rate
  from platform_analytics.plan_conversions(:from!, :to!) as r;

/* @name featureAdoption */
select r.feature as "feature!", r.users as "users!", r.share_of_active_users, r.new_users as "new_users!"
  from platform_analytics.feature_adoption(:from!, :to!) as r;

/* @name heaviestUsers */
select r.user_id as "user_id!", r.tokens_used as "tokens_used!", r.cost_usd as "cost_usd!", r.events as "events!"
  from platform_analytics.heaviest_users(:from!, :to!, :limit!) as r;
