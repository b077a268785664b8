import { rfc3339, type TimestampPrecision } from "../clock.js";
import type { Session } from "../sessions/session.js";
import type { IssuedSession } from "../sessions/session.service.js";
import { toStytchUser } from "./stytch-user.js";

/** A session as Stytch's API spells it (snake_case, RFC 3339 UTC timestamps in `precision`). */
export function toStytchSession(session: Session, precision: TimestampPrecision): Record<string, unknown> {
  return {
    session_id: session.id,
    user_id: session.userId,
    started_at: rfc3339(session.startedAt, precision),
    last_accessed_at: rfc3339(session.lastAccessedAt, precision),
    expires_at: rfc3339(session.expiresAt, precision),
    attributes: { ip_address: session.attributes.ipAddress, user_agent: session.attributes.userAgent },
    // Tessera has no login products, so it records no authentication factors.
    authentication_factors: [],
    custom_claims: session.customClaims,
    roles: [...session.roles],
  };
}

/** The body of an authenticate (or create) response: session, credentials and the user record read with them. */
export function toStytchIssued(issued: IssuedSession, precision: TimestampPrecision): Record<string, unknown> {
  return {
    session: toStytchSession(issued.session, precision),
    // Only the token's hash is stored, so a session authenticated by JWT gets no token back.
    session_token: issued.sessionToken ?? "",
    session_jwt: issued.sessionJwt,
    user: toStytchUser(issued.session.userId, issued.user),
  };
}
