--! Previous: sha1:54a21e3286b1bbbd0f77c720eb8605a1820ae9ff
--! Hash: sha1:6c10e6e771041e6a437fa87d8a178236bbe81c37

-- Plans are listed in their sort_order: an index lets the API order by it (SORT_ORDER_ASC).
-- reason: subscription_plans holds the handful of plans; the index is built in milliseconds
-- squawk-ignore require-concurrent-index-deletion
drop index if exists platform.subscription_plans_sort_order_idx;
-- reason: subscription_plans holds the handful of plans; the index is built in milliseconds
-- squawk-ignore require-concurrent-index-creation
create index subscription_plans_sort_order_idx on platform.subscription_plans (sort_order, name);

-- Plan conversions as rates as well as counts: each change's users over the users who
-- were on the plan changed from at some time in the period.
drop function if exists platform_analytics.plan_conversions(timestamptz, timestamptz);
create function platform_analytics.plan_conversions(from_time timestamptz, to_time timestamptz)
  returns table (from_plan text, to_plan text, direction text, changes bigint, users bigint, users_on_from_plan bigint, conversion_rate numeric)
  language sql stable set search_path = pg_catalog
as $$
  -- Each plan change is a new subscription row: consecutive rows of one user are a change.
  with subscriptions as (
    select s.user_id, s.created_at, p.name as plan, p.price_cents as price,
           lag(p.name) over w as from_plan, lag(p.price_cents) over w as from_price,
           lead(s.created_at) over w as ended_at
      from platform.user_subscriptions s join platform.subscription_plans p on p.id = s.plan_id
    window w as (partition by s.user_id order by s.created_at, s.id)
  ), on_plan as (
    -- Users on each plan at some time in the period: the base of its conversion rates.
    select plan, count(distinct user_id) as users from subscriptions
     where created_at < to_time and (ended_at is null or ended_at > from_time)
     group by plan
  )
  select c.from_plan, c.plan,
         case when c.from_price = 0 and c.price > 0 then 'free_to_paid'
              when c.from_price > 0 and c.price = 0 then 'paid_to_free'
              when c.price > c.from_price then 'upgrade'
              when c.price < c.from_price then 'downgrade'
              else 'same_price' end,
         count(*), count(distinct c.user_id), coalesce(b.users, 0),
         round(count(distinct c.user_id)::numeric / nullif(b.users, 0), 4)
    from subscriptions c left join on_plan b on b.plan = c.from_plan
   where c.from_plan is not null and c.created_at >= from_time and c.created_at < to_time
   group by 1, 2, 3, b.users order by 3, 1, 2
$$;
comment on function platform_analytics.plan_conversions(timestamptz, timestamptz) is
  'Plan changes started in the period, by from and to plan (free_to_paid, paid_to_free, upgrade, downgrade or same_price): the changes, the users who changed, the users on the from plan at some time in the period, and conversion_rate = users / users_on_from_plan.';
grant execute on function platform_analytics.plan_conversions(timestamptz, timestamptz) to :DATABASE_PLATFORM_ADMIN;
