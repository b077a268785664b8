import { type ClaimsPolicy, effectiveClaims, type JsonObject } from "../claims/index.js";
import { ClaimsTooLargeError, SessionClaimsTooLargeError, TesseraError } from "../errors.js";
import type { User } from "../users/user.js";
import type { Session } from "./session.js";
import type { StoredSession } from "./session.repository.js";
import { sessionView } from "./session-view.js";

/** How many offending sessions a refused change names. */
const NAMED_OFFENDERS = 5;

/**
 * Collects the live sessions a template or user change would break: whose
 * effective claims over the new base fail the claims policy, or whose JWT
 * would be too long to be accepted back (`checkJwt` throws). Used page by
 * page; `refuse()` throws SessionClaimsTooLargeError naming the first ones.
 */
export interface LiveSessionCheck {
  /**
   * Checks each session against the base `baseOf` gives for it, with its
   * user's record as `userOf` gives it (by default the one read with it).
   */
  check(
    sessions: readonly StoredSession[],
    baseOf: (session: StoredSession) => JsonObject,
    userOf?: (session: StoredSession) => User | undefined,
  ): void;
  /** Whether enough offenders are known to stop looking. */
  readonly full: boolean;
  /** Throws when any session failed; nothing to do otherwise. */
  refuse(): void;
}

/** A fresh check under `policy`, with the JWT length rule `checkJwt` measuring effective roles (with `defaultRole`). */
export function liveSessionCheck(
  policy: ClaimsPolicy,
  checkJwt: (session: Session) => void,
  defaultRole: string | undefined,
): LiveSessionCheck {
  const offenders: string[] = [];
  let worst = 0;
  return {
    check(sessions, baseOf, userOf = (session) => session.user) {
      for (const session of sessions) {
        try {
          const customClaims = effectiveClaims(baseOf(session), session.overlay, policy);
          checkJwt(sessionView(session, customClaims, defaultRole, userOf(session)));
        } catch (err) {
          if (!(err instanceof TesseraError)) throw err;
          if (err instanceof ClaimsTooLargeError) worst = Math.max(worst, err.size);
          if (offenders.length < NAMED_OFFENDERS) offenders.push(session.id);
        }
      }
    },
    get full() {
      return offenders.length >= NAMED_OFFENDERS;
    },
    refuse() {
      if (offenders.length > 0) throw new SessionClaimsTooLargeError(offenders, worst, policy.maxBytes);
    },
  };
}
