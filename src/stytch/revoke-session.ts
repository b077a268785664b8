import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { credentialFrom } from "./stytch-request.js";

/** POST /v1/sessions/revoke: exactly one of session_id, session_token, session_jwt. */
export function revokeSession(deps: StytchDeps): StytchEndpoint {
  return {
    method: "POST",
    path: "/v1/sessions/revoke",
    // Stytch names revoke's argument errors apart from authenticate's.
    errorTypes: {
      MISSING_SESSION_CREDENTIAL: "no_session_revoke_arguments",
      TOO_MANY_SESSION_CREDENTIALS: "too_many_session_revoke_arguments",
    },
    async handle({ body }) {
      await deps.sessions.revoke(credentialFrom(body, ["session_id", "session_token", "session_jwt"]));
      return {};
    },
  };
}
