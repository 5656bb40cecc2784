/* Accounts. register_user finds or creates in one statement, so a new
   Clerk user's first requests can race without creating two accounts.
   "created" is true when this call made the account (created in this
   transaction: created_at defaults to now()). */

/* @name findOrCreateUser */
select u.id as "id!", u.clerk_id as "clerk_id!", u.email, u.display_name,
       u.subscription_status as "subscription_status!", u.created_at as "created_at!",
       u.created_at = now() as "created!"
  from platform_backend.register_user(:clerkId!, :email, :displayName) as u;

/* @name renameFromClerk */
select u.id as "id!", u.display_name
  from platform_backend.rename_from_clerk(:clerkId!, :displayName!) as u;

/* @name userIdOf */
select u.id as "id!" from platform.users u where u.id::text = :who! or u.clerk_id = :who!;
