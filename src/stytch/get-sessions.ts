import { validUserId } from "../sessions/session-input.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { toStytchSession } from "./stytch-session.js";

/**
 * GET /v1/sessions?user_id=…: the user's active sessions, newest first. Stytch's
 * contract has no paging, so this returns them all; MAX_SESSIONS_PER_USER bounds how many that is.
 */
export function getSessions(deps: StytchDeps): StytchEndpoint {
  return {
    method: "GET",
    path: "/v1/sessions",
    async handle({ query }) {
      const page = await deps.sessions.list(validUserId(query.get("user_id") ?? ""));
      return { sessions: page.sessions.map((session) => toStytchSession(session, deps.timestampPrecision)) };
    },
  };
}
