import type { AuthenticateSessionInput } from "../sessions/session.service.js";
import { validAuthorizationCheck, validCredential, validDuration } from "../sessions/session-input.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { toSessionMessage } from "./session-message.js";

/** SessionService.AuthenticateSession. */
export function authenticateSession(deps: RouteDeps): Pick<SessionServiceImpl, "authenticateSession"> {
  return {
    async authenticateSession(req) {
      const credential = validCredential(req.credential) as AuthenticateSessionInput["credential"];
      const issued = await deps.sessions.authenticate({
        credential,
        durationMinutes: validDuration(req.sessionDurationMinutes),
        patch: req.sessionCustomClaims,
        expectedClaimsVersion: req.expectedClaimsVersion,
        authorizationCheck: validAuthorizationCheck(req.authorizationCheck),
      });
      return {
        session: toSessionMessage(issued.session),
        sessionToken: issued.sessionToken ?? "",
        sessionJwt: issued.sessionJwt,
        ...(issued.verdict === undefined
          ? {}
          : { verdict: { authorized: issued.verdict.authorized, grantingRoles: [...issued.verdict.grantingRoles] } }),
      };
    },
  };
}
