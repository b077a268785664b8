import { validUserId } from "../sessions/session-input.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { toStytchSession } from "./stytch-session.js";

/** GET /v1/sessions?user_id=…: the user's active sessions, newest first. */
export function getSessions(deps: StytchDeps): StytchEndpoint {
  return {
    method: "GET",
    path: "/v1/sessions",
    async handle({ query }) {
      const sessions = await deps.sessions.list(validUserId(query.get("user_id") ?? ""));
      return { sessions: sessions.map((session) => toStytchSession(session, deps.timestampPrecision)) };
    },
  };
}
