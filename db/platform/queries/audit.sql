/* The audit log: events that no trigger writes (their subject is a read, not a change). */

/* @name recordAuditEvent */
select platform_backend.record_audit_event(:kind!, :userId, coalesce(:details::jsonb, '{}')) as "id!";
