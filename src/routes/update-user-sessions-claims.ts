import { validUserId } from "../sessions/session-input.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { toSessionMessage } from "./session-message.js";

/** SessionService.UpdateUserSessionsClaims: one patch onto every active session of a user, all or nothing. */
export function updateUserSessionsClaims(deps: RouteDeps): Pick<SessionServiceImpl, "updateUserSessionsClaims"> {
  return {
    async updateUserSessionsClaims(req) {
      const sessions = await deps.sessions.updateUserClaims(validUserId(req.userId), req.sessionCustomClaims ?? {});
      return { sessions: sessions.map(toSessionMessage) };
    },
  };
}
