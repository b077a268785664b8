/** What a change event says changed (stored as text in session_events.type). */
export type EventType =
  | "session_created"
  | "session_claims_changed"
  | "session_revoked"
  | "session_expired"
  | "user_updated"
  | "user_deleted"
  | "claim_template_changed"
  | "signing_key_rotated"
  | "rbac_policy_changed";

/** Every event type, in the order of the proto enum (EVENT_TYPE_SESSION_CREATED = 1, ...). */
export const EVENT_TYPES: readonly EventType[] = [
  "session_created",
  "session_claims_changed",
  "session_revoked",
  "session_expired",
  "user_updated",
  "user_deleted",
  "claim_template_changed",
  "signing_key_rotated",
  "rbac_policy_changed",
];

/** A position in the feed: the writing transaction's id, then the event id. */
export interface EventPosition {
  readonly xid: bigint;
  readonly id: bigint;
}

/** One stored change. Holds ids and versions only: never a claim value, token or key. */
export interface ChangeEvent {
  readonly position: EventPosition;
  readonly time: Date;
  readonly type: EventType;
  readonly sessionId: string | undefined;
  readonly userId: string | undefined;
  readonly claimsVersion: bigint | undefined;
  /** For a revocation: an upper bound of the `exp` of every JWT minted for the session. */
  readonly denyUntil: Date | undefined;
  readonly keyId: string | undefined;
  readonly templateVersion: bigint | undefined;
}

/** Seconds added to JWT_TTL_SECONDS in a revocation's deny_until, for a JWT minted just after the revoke's read. */
export const DENY_GRACE_SECONDS = 60;
