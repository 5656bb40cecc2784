/* Accounts. register_user finds or creates in one statement, so a new
   Clerk user's first requests can race without creating two accounts. */

/* @name findOrCreateUser */
select u.id as "id!", u.clerk_id as "clerk_id!", u.email, u.display_name,
       u.subscription_status as "subscription_status!", u.created_at as "created_at!"
  from platform_backend.register_user(:clerkId!, :email, :displayName) as u;
