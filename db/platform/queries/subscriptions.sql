/* Subscriptions. Run as the signed-in user: row-level security, not a
   where clause, limits the rows to their own. */

/* @name currentSubscription */
select s.id, s.status, s.current_period_start, s.current_period_end,
       p.name as plan_name, p.price_cents, p.billing_interval, p.features
  from platform.user_subscriptions s
  join platform.subscription_plans p on p.id = s.plan_id
 where s.status in ('trialing', 'active', 'past_due');

/* @name changePlan */
select s.id as "id!", s.user_id as "user_id!", s.status as "status!", s.current_period_end as "current_period_end!"
  from platform_backend.change_subscription(:userId!, :planName!) as s;
