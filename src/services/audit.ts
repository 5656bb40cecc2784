/** Writes an event to the audit log in the caller's (platform admin) transaction; changes are audited by triggers, this is for reads worth recording. */
import type { AdminSession } from "../db/session.ts";
import { recordAuditEvent as recordAuditEventQuery } from "../../generated/platform/audit.queries.ts";
import { jsonb, run, single } from "./run-query.ts";

export async function recordAuditEvent(session: AdminSession, kind: string, userId: string | null, details: { [key: string]: string | number | boolean | null } = {}): Promise<string> {
  return single(await run(session, recordAuditEventQuery, { kind, userId, details: jsonb(details) }), "record_audit_event").id;
}
