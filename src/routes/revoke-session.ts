import { validCredential } from "../sessions/session-input.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";

/** SessionService.RevokeSession. */
export function revokeSession(deps: RouteDeps): Pick<SessionServiceImpl, "revokeSession"> {
  return {
    async revokeSession(req) {
      await deps.sessions.revoke(validCredential(req.target));
      return {};
    },
  };
}
