import { validUserId } from "../sessions/session-input.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { toSessionMessage } from "./session-message.js";

/** SessionService.ListSessions. */
export function listSessions(deps: RouteDeps): Pick<SessionServiceImpl, "listSessions"> {
  return {
    async listSessions(req) {
      const sessions = await deps.sessions.list(validUserId(req.userId));
      return { sessions: sessions.map(toSessionMessage) };
    },
  };
}
