/**
 * POST /webhooks/clerk: Clerk tells the platform that a user was created,
 * changed or deleted. Verified with the svix library (Clerk signs with Svix):
 * signature and timestamp tolerance; a bad one gets 400 and changes nothing.
 * Each delivery's svix-id is recorded in the same transaction as its effect,
 * so a replay is acknowledged (200, "duplicate") and not applied again.
 * user.created/user.updated go through register_user, like a first sign-in
 * (which keeps a name the user set); user.updated then sets the name Clerk has,
 * the one way a name changes from Clerk. user.deleted starts the account's
 * erasure.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Webhook, WebhookVerificationError } from "svix";
import type { Databases } from "../../../db/databases.ts";
import type { Logger } from "../../../log.ts";
import { findOrCreateUser, renameFromClerk } from "../../../services/accounts.ts";
import { accountDeletion, requestAccountDeletion } from "../../../services/erasure.ts";
import { ensureProfile } from "../../../services/profile.ts";
import { recordWebhookDelivery, userIdByClerkId } from "../../../../generated/platform/erasure.queries.ts";
import { run } from "../../../services/run-query.ts";
import { readBody, reply as replyJson } from "../../http/plain-http.ts";

export const CLERK_WEBHOOK_PATH = "/webhooks/clerk";

interface ClerkUser {
  id?: unknown;
  first_name?: string | null;
  last_name?: string | null;
  primary_email_address_id?: string | null;
  email_addresses?: { id: string; email_address: string }[];
}

type Outcome = "applied" | "duplicate" | "ignored";

export function clerkWebhookHandler(secret: string, databases: Pick<Databases, "platform" | "userData">, maxBodyBytes: number, log: Logger) {
  const webhook = new Webhook(secret);

  async function apply(deliveryId: string, type: string, user: ClerkUser): Promise<{ outcome: Outcome; profileFor?: string }> {
    return databases.platform.withPlatformAdmin(async (admin) => {
      const recorded = await run(admin, recordWebhookDelivery, { deliveryId, eventType: type });
      if (recorded.length === 0) return { outcome: "duplicate" };
      const clerkId = typeof user.id === "string" ? user.id : undefined;
      if (!clerkId || !["user.created", "user.updated", "user.deleted"].includes(type)) return { outcome: "ignored" };
      const known = (await run(admin, userIdByClerkId, { clerkId }))[0]?.id;
      const erasing = known ? await accountDeletion(admin, known) : null;
      if (erasing) return { outcome: "ignored" }; // an account on its way out is not brought back
      if (type === "user.deleted") {
        if (!known) return { outcome: "ignored" };
        await requestAccountDeletion(admin, known, "clerk");
        return { outcome: "applied" };
      }
      const email = user.email_addresses?.find((e) => e.id === user.primary_email_address_id)?.email_address ?? null;
      const name = [user.first_name, user.last_name].filter(Boolean).join(" ") || null;
      const account = await findOrCreateUser(admin, { clerkId, email, displayName: name });
      if (type === "user.updated" && name) await renameFromClerk(admin, clerkId, name);
      return { outcome: "applied", profileFor: account.id };
    });
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reply = (status: number, body: object) => replyJson(res, status, body);
    if (req.method !== "POST") return reply(405, { error: "use POST" });
    const body = await readBody(req, res, maxBodyBytes);
    if (body === undefined) return;
    const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : "");
    let event: { type?: unknown; data?: ClerkUser };
    try {
      // svix 2 only verifies (throws when it must refuse); the body it verified is then parsed here.
      webhook.verify(body, { "svix-id": header("svix-id"), "svix-timestamp": header("svix-timestamp"), "svix-signature": header("svix-signature") });
      event = JSON.parse(body) as typeof event;
    } catch (error) {
      if (error instanceof WebhookVerificationError) return reply(400, { error: `webhook refused: ${error.message}` });
      if (error instanceof SyntaxError) return reply(400, { error: "webhook refused: the body is not JSON" });
      throw error;
    }
    if (event === null || typeof event !== "object") return reply(400, { error: "webhook refused: the body is not a JSON object" });
    const type = typeof event.type === "string" ? event.type : "unknown";
    try {
      const { outcome, profileFor } = await apply(header("svix-id"), type, event.data ?? {});
      // Same as a first sign-in: the profile follows the account (idempotent; the audit finds one missing).
      if (profileFor) await databases.userData.withUserContext(profileFor, ensureProfile);
      log("webhook_applied", { source: "clerk", deliveryId: header("svix-id"), type, outcome });
      reply(200, { status: outcome });
    } catch (error) {
      log("webhook_failed", { source: "clerk", deliveryId: header("svix-id"), type, message: (error as Error).message });
      reply(500, { error: "the delivery could not be applied; Clerk will retry it" });
    }
  };
}
