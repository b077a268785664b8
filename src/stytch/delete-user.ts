import { validUserId } from "../sessions/session-input.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";

/**
 * DELETE /v1/users/:user_id: revokes every session of the user and deletes its record, in one transaction.
 * user_not_found when there is neither a record nor an active session.
 */
export function deleteUser(deps: StytchDeps): StytchEndpoint {
  return {
    method: "DELETE",
    path: "/v1/users/:user_id",
    async handle({ params }) {
      const userId = validUserId(params.user_id ?? "");
      await deps.users.delete(userId);
      return { user_id: userId };
    },
  };
}
