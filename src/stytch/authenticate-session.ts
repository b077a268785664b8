import type { AuthenticateSessionInput } from "../sessions/session.service.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { credentialFrom, customClaimsFrom, durationFrom, refuseAuthorizationCheck } from "./stytch-request.js";
import { toStytchIssued } from "./stytch-session.js";

/** POST /v1/sessions/authenticate: a token or JWT, optionally extending the session and patching its claims. */
export function authenticateSession(deps: StytchDeps): StytchEndpoint {
  return {
    method: "POST",
    path: "/v1/sessions/authenticate",
    async handle({ body }) {
      const credential = credentialFrom(body, [
        "session_token",
        "session_jwt",
      ]) as AuthenticateSessionInput["credential"];
      const durationMinutes = durationFrom(body);
      const patch = customClaimsFrom(body);
      refuseAuthorizationCheck(body);
      const issued = await deps.sessions.authenticate({
        credential,
        durationMinutes,
        patch,
        expectedClaimsVersion: undefined,
      });
      return toStytchIssued(issued, deps.timestampPrecision);
    },
  };
}
