import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { credentialFrom } from "./stytch-request.js";

/** POST /v1/sessions/revoke: exactly one of session_id, session_token, session_jwt. */
export function revokeSession(deps: StytchDeps): StytchEndpoint {
  return {
    method: "POST",
    path: "/v1/sessions/revoke",
    async handle({ body }) {
      await deps.sessions.revoke(credentialFrom(body, ["session_id", "session_token", "session_jwt"]));
      return {};
    },
  };
}
