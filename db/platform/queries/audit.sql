/* The audit log (platform_audit.events), for events no trigger sees: their subject is a read (an export, an admin's report), not a change. */

/* @name recordAuditEvent */
select platform_backend.record_audit_event(:kind!, :userId, coalesce(:details::jsonb, '{}')) as "id!";
