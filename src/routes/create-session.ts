import {
  SESSION_DURATION_MINUTES,
  validAttributes,
  validDuration,
  validRoles,
  validUserId,
} from "../sessions/session-input.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";
import { toSessionMessage } from "./session-message.js";

/** SessionService.CreateSession. */
export function createSession(deps: RouteDeps): Pick<SessionServiceImpl, "createSession"> {
  return {
    async createSession(req) {
      const issued = await deps.sessions.create({
        userId: validUserId(req.userId),
        durationMinutes: validDuration(req.sessionDurationMinutes) ?? SESSION_DURATION_MINUTES.default,
        customClaims: req.sessionCustomClaims ?? {},
        attributes: validAttributes(req.attributes),
        roles: validRoles(req.roles),
      });
      return {
        session: toSessionMessage(issued.session),
        sessionToken: issued.sessionToken ?? "",
        sessionJwt: issued.sessionJwt,
      };
    },
  };
}
