--! Previous: sha1:afba5c5dd472aae2e9f1cc0bd1e1c059616a99e3
--! Hash: sha1:006546e4e4841fbe6d1bd3bdaa0b1b3eeaca1c84

-- Erasure and webhook applications reach the audit log (platform_audit.events) in the
-- transaction that makes them, whichever path (API, operator, Clerk, the erasure job).

drop trigger if exists _900_audit on platform_backend.webhook_deliveries;
drop trigger if exists _900_audit on platform_backend.account_deletions;
drop function if exists platform_private.tg_webhook_deliveries__audit();
drop function if exists platform_private.tg_account_deletions__audit();

create function platform_private.tg_account_deletions__audit() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' then
    perform platform_backend.record_audit_event('user.deletion_requested', new.user_id, jsonb_build_object('requested_by', new.requested_by));
  elsif new.state is distinct from old.state then
    perform platform_backend.record_audit_event('user.deletion_' || new.state, new.user_id, jsonb_build_object('rows_erased', new.rows_erased));
  end if;
  return null;
end;
$$;
comment on function platform_private.tg_account_deletions__audit() is 'Writes user.deletion_requested, user.deletion_in_progress and user.deletion_completed audit events.';
create trigger _900_audit after insert or update on platform_backend.account_deletions
  for each row execute function platform_private.tg_account_deletions__audit();

create function platform_private.tg_webhook_deliveries__audit() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform platform_backend.record_audit_event('webhook.applied', null, jsonb_build_object('delivery_id', new.delivery_id, 'event_type', new.event_type));
  return null;
end;
$$;
comment on function platform_private.tg_webhook_deliveries__audit() is 'Writes a webhook.applied audit event for each delivery applied.';
create trigger _900_audit after insert on platform_backend.webhook_deliveries
  for each row execute function platform_private.tg_webhook_deliveries__audit();
