/* Plan changes, Stripe and entitlements, as the platform admin (the billing
   service, the webhook, the worker's jobs). */

/* @name changePlanTo */
select c.id as "id!", c.user_id as "user_id!", c.kind as "kind!", c.state as "state!", c.effective_at as "effective_at!",
       c.subscription_id
  from platform_backend.change_plan(:userId!, :planName!, :source!, :periodEnd, :atPeriodEnd) as c;

/* @name applyPlanChange */
select platform_backend.apply_plan_change(:changeId!) as "outcome!";

/* @name planChangesOf */
select c.id as "id!", c.kind as "kind!", c.state as "state!", c.source as "source!", c.effective_at as "effective_at!",
       f.name as from_plan, t.name as "to_plan!", c.requested_at as "requested_at!", c.settled_at
  from platform.plan_changes c
  left join platform.subscription_plans f on f.id = c.from_plan_id
  join platform.subscription_plans t on t.id = c.to_plan_id
 where c.user_id = :userId!
 order by c.requested_at, c.id;

/* @name linkStripeCustomer */
select b.user_id as "user_id!", b.stripe_customer_id as "stripe_customer_id!"
  from platform_backend.link_stripe_customer(:userId!, :customerId!, :subscriptionId) as b;

/* @name stripeCustomerOf */
select b.stripe_customer_id as "stripe_customer_id!" from platform_backend.billing_accounts b where b.user_id = :userId!;

/* @name applyStripeSubscription */
select platform_backend.apply_stripe_subscription(:customerId!, :subscriptionId!, :status!, :planName!, :cancelAtPeriodEnd!, :periodEnd, :eventCreated!, :subscriptionCreated) as "outcome!";

/* @name applyStripeInvoice */
select platform_backend.apply_stripe_invoice(:customerId!, :invoiceId!, :subscriptionId!, :paid!) as "outcome!";

/* @name recordStripeDelivery */
insert into platform_backend.webhook_deliveries (delivery_id, event_type, source) values (:eventId!, :eventType!, 'stripe')
on conflict (delivery_id) do nothing
returning delivery_id;

/* @name entitlementsOf */
select e.plan_name as "plan_name!", e.max_projects, e.max_personas, e.monthly_tokens, e.version as "version!"
  from platform_backend.entitlements_of(:userId!) as e;

/* @name recordEntitlementSync */
select s.over_limit from platform_backend.record_entitlement_sync(:userId!, :version!, :projects!, :personas!) as s;

/* @name overLimitReport */
select r.user_id as "user_id!", r.email, r.plan_name as "plan_name!", r.projects as "projects!", r.max_projects,
       r.personas as "personas!", r.max_personas, r.synced_at as "synced_at!"
  from platform_backend.over_limit_report r
 order by r.synced_at desc;

/* @name allUserIds */
select u.id as "id!" from platform.users u
 where not exists (select 1 from platform_backend.account_deletions d where d.user_id = u.id)
 order by u.id;

/* @name applyStripeCheckout */
select platform_backend.apply_stripe_checkout(:userId!, :customerId!, :subscriptionId, :planName, :eventCreated!) as "outcome!";

/* @name accountIsErased */
select exists (select 1 from platform_backend.account_deletions d where d.user_id = :userId!) as "erasing!";
