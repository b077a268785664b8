import { type ErrorReason, TesseraError } from "../errors.js";
import type { Sessions } from "../sessions/session.service.js";
import type { Metrics } from "./metrics.js";

/** Reasons that mean the custom claims themselves were refused. */
const CLAIMS_REASONS: ReadonlySet<ErrorReason> = new Set<ErrorReason>([
  "RESERVED_CLAIM",
  "RESERVED_NAMESPACE_CLAIM",
  "CLAIMS_TOO_LARGE",
  "INVALID_CLAIMS",
  "CLAIMS_VERSION_MISMATCH",
  "CLAIMS_OVERLAY_TOO_LARGE",
]);

/** Wraps the session service to count created and revoked sessions and rejected claims. */
export function instrumentSessions(sessions: Sessions, metrics: Metrics): Sessions {
  const countRejection = (err: unknown): never => {
    if (err instanceof TesseraError && CLAIMS_REASONS.has(err.reason)) metrics.claimsRejected(err.reason);
    throw err;
  };
  return {
    async create(input) {
      const issued = await sessions.create(input).catch(countRejection);
      metrics.sessionCreated();
      return issued;
    },
    authenticate: (input) => sessions.authenticate(input).catch(countRejection),
    list: (userId, page) => sessions.list(userId, page),
    updateClaims: (input) => sessions.updateClaims(input).catch(countRejection),
    updateUserClaims: (userId, patch) => sessions.updateUserClaims(userId, patch).catch(countRejection),
    async revoke(credential) {
      await sessions.revoke(credential);
      metrics.sessionRevoked();
    },
  };
}
