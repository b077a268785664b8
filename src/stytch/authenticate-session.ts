import type { AuthenticateSessionInput } from "../sessions/session.service.js";
import { authorizationCheckFrom, toStytchVerdict } from "./stytch-authorization-check.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { credentialFrom, customClaimsFrom, durationFrom } from "./stytch-request.js";
import { toStytchIssued } from "./stytch-session.js";

/**
 * POST /v1/sessions/authenticate: a token or JWT, optionally extending the session and patching its claims.
 * With an authorization_check, a denial is 403 `consumer_session_authorization_error` and changes nothing;
 * a success carries `verdict`.
 */
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
      const authorizationCheck = authorizationCheckFrom(body);
      const issued = await deps.sessions.authenticate({
        credential,
        durationMinutes,
        patch,
        expectedClaimsVersion: undefined,
        authorizationCheck,
      });
      return {
        ...toStytchIssued(issued, deps.timestampPrecision),
        ...(issued.verdict === undefined ? {} : { verdict: toStytchVerdict(issued.verdict) }),
      };
    },
  };
}
