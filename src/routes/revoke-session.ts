import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { validCredential } from "./validate.js";

/** SessionService.RevokeSession. */
export function revokeSession(deps: RouteDeps): Pick<SessionServiceImpl, "revokeSession"> {
  return {
    async revokeSession(req) {
      await deps.sessions.revoke(validCredential(req.target));
      return {};
    },
  };
}
