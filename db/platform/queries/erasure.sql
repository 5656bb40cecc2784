/* Erasure of an account and the webhook deliveries that may start it. */

/* @name requestAccountDeletion */
select d.user_id as "user_id!", d.state as "state!", d.requested_at as "requested_at!"
  from platform_backend.request_account_deletion(:userId!, :requestedBy!) as d;

/* @name beginAccountErasure */
select platform_backend.begin_account_erasure(:userId!) as state;

/* @name completeAccountErasure */
select platform_backend.complete_account_erasure(:userId!, :rowsErased!) as done;

/* @name recordErasureProgress */
update platform_backend.account_deletions set rows_erased = rows_erased + :rows!
 where user_id = :userId! and state = 'in_progress';

/* @name accountDeletion */
select d.user_id as "user_id!", d.state as "state!", d.requested_by as "requested_by!", d.requested_at as "requested_at!",
       d.started_at, d.completed_at, d.rows_erased as "rows_erased!"
  from platform_backend.account_deletions d where d.user_id = :userId!;

/* @name userIdByClerkId */
select u.id as "id!" from platform.users u where u.clerk_id = :clerkId!;

/* @name recordWebhookDelivery */
insert into platform_backend.webhook_deliveries (delivery_id, event_type) values (:deliveryId!, :eventType!)
on conflict (delivery_id) do nothing
returning delivery_id;
