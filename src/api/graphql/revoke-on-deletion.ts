/**
 * The process that answers a user's own deletion request forgets their
 * account before the answer leaves: the requestAccountDeletion mutation's
 * plan is followed by a side effect that drops the signed-in user from this
 * process's account cache once the request has been recorded. Other processes
 * learn it from the revocation notification (accounts.ts); this one does not
 * wait for its own listener, so its very next request is refused whatever the
 * order in which the notification and that request arrive.
 */
import type {} from "postgraphile";
import { sideEffect } from "postgraphile/grafast";
import { wrapPlans } from "postgraphile/utils";
import { currentRequest } from "../request-context.ts";

export function revokeOnDeletionPlugin(revoke: (userId: string) => void): GraphileConfig.Plugin {
  return wrapPlans({
    Mutation: {
      requestAccountDeletion(plan) {
        const $result = plan();
        // Depends on the result: runs after the deletion request was written, and not when it failed.
        sideEffect($result, () => {
          const viewer = currentRequest.getStore()?.viewer;
          if (viewer?.kind === "user") revoke(viewer.userId);
        });
        return $result;
      },
    },
  });
}
