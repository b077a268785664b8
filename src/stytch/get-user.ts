import { validUserId } from "../sessions/session-input.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { toStytchUser } from "./stytch-user.js";

/**
 * GET /v1/users/:user_id: the user record, flat (its fields at the top level, as Stytch's get response has them).
 * A user id without a record is user_not_found, even when it has sessions.
 */
export function getUser(deps: StytchDeps): StytchEndpoint {
  return {
    method: "GET",
    path: "/v1/users/:user_id",
    async handle({ params }) {
      const userId = validUserId(params.user_id ?? "");
      return toStytchUser(userId, await deps.users.get(userId));
    },
  };
}
