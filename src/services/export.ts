/**
 * Everything the platform holds about one user, from both databases, as one
 * JSON document written piece by piece: each table is read through a cursor
 * in batches, as the user themselves (row-level security, not the query
 * text, keeps every other user's rows out), so a user with millions of rows
 * is never held in memory whole. Rows are serialised by PostgreSQL
 * (to_jsonb), exactly as stored.
 *
 * Every export is written to the audit log (user.data_exported) before its
 * first byte leaves: data that was sent is data that was exported, even if
 * the export then fails half-way.
 */
import type { Databases } from "../db/databases.ts";
import type { Session } from "../db/session.ts";
import { recordAuditEvent } from "./audit.ts";

/** Writes a piece of the document; resolves when the destination can take more (backpressure). */
export type Write = (chunk: string) => Promise<void>;

const BATCH = 1000;

const SECTIONS = {
  platform: {
    account: "select to_jsonb(t)::text as j from platform.users t",
    subscriptions: "select to_jsonb(t)::text as j from platform.user_subscriptions t order by t.created_at, t.id",
    plan_changes: "select to_jsonb(t)::text as j from platform.plan_changes t order by t.requested_at, t.id",
    usage_logs: "select to_jsonb(t)::text as j from platform.platform_usage_logs t order by t.id",
    usage_monthly_totals: "select to_jsonb(t)::text as j from platform.usage_monthly_totals t order by t.month",
  },
  userData: {
    profile: "select to_jsonb(t)::text as j from user_data.user_profiles t",
    entitlements: "select to_jsonb(t)::text as j from user_data.user_entitlements t",
    projects: "select to_jsonb(t)::text as j from user_data.user_projects t order by t.id",
    personas: "select to_jsonb(t)::text as j from user_data.user_personas t order by t.id",
    assets: "select to_jsonb(t)::text as j from user_data.user_content_assets t order by t.id",
    asset_counts: "select to_jsonb(t)::text as j from user_data.user_asset_counts t",
  },
} as const;

async function streamRows(session: Session, sql: string, write: Write): Promise<void> {
  await session.query(`declare export_rows no scroll cursor for ${sql}`);
  let first = true;
  for (;;) {
    const { rows } = await session.query<{ j: string }>(`fetch ${BATCH} from export_rows`);
    if (rows.length === 0) break;
    await write((first ? "" : ",") + rows.map((r) => r.j).join(","));
    first = false;
  }
  await session.query("close export_rows");
}

/** Who asked for an export: the user themselves (GET /export) or an operator (`alwrity user export`). */
export type ExportRequester = "user" | "operator";

export async function exportUser(databases: Pick<Databases, "platform" | "userData">, userId: string, requestedBy: ExportRequester, write: Write): Promise<void> {
  await databases.platform.withPlatformAdmin((admin) => recordAuditEvent(admin, "user.data_exported", userId, { requested_by: requestedBy }));
  await write(`{"user_id":${JSON.stringify(userId)},"exported_at":${JSON.stringify(new Date().toISOString())}`);
  for (const key of ["platform", "userData"] as const) {
    await write(`,${JSON.stringify(key === "platform" ? "platform" : "user_data")}:{`);
    // One transaction per database: the export is consistent within each.
    await databases[key].withUserContext(userId, async (session) => {
      let firstSection = true;
      for (const [name, sql] of Object.entries(SECTIONS[key])) {
        await write(`${firstSection ? "" : ","}${JSON.stringify(name)}:[`);
        await streamRows(session, sql, write);
        await write("]");
        firstSection = false;
      }
    });
    await write("}");
  }
  await write("}\n");
}
