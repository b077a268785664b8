import { InvalidArgumentError } from "../errors.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { toSessionMessage } from "./session-message.js";

/** SessionService.UpdateSessionClaims: a patch by session id, without the session's credential. */
export function updateSessionClaims(deps: RouteDeps): Pick<SessionServiceImpl, "updateSessionClaims"> {
  return {
    async updateSessionClaims(req) {
      if (req.sessionId === "" || req.sessionId.length > 128) {
        throw new InvalidArgumentError("MISSING_SESSION_CREDENTIAL", "session_id is required (at most 128 characters)");
      }
      const session = await deps.sessions.updateClaims({
        sessionId: req.sessionId,
        patch: req.sessionCustomClaims ?? {},
        expectedClaimsVersion: req.expectedClaimsVersion,
      });
      return { session: toSessionMessage(session) };
    },
  };
}
