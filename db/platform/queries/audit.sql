/* The audit log (platform_audit.events), for events no trigger sees: an export reads, it changes nothing. */

/* @name recordAuditEvent */
select platform_backend.record_audit_event(:kind!, :userId, :details!) as "id!";
