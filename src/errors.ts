/**
 * Typed domain errors. Every error has a stable `reason` that callers switch on,
 * and a `kind` that decides its gRPC code in exactly one place
 * (`src/rpc/error-mapper.ts`). Messages and metadata never hold secrets:
 * no token, JWT, key or claim value, only names, sizes and limits.
 */
import { isDatabaseUnavailable } from "./db/database-errors.js";

/** The class of failure; mapped to a gRPC code by the error mapper. */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "unauthenticated"
  | "aborted"
  | "unavailable"
  | "failed_precondition"
  | "resource_exhausted"
  | "permission_denied"
  | "internal";

/**
 * Every stable reason an error can carry, so the tables that map reasons
 * (to gRPC codes, to Stytch error types, to metrics) are checked by the compiler.
 */
export type ErrorReason =
  | "RESERVED_CLAIM"
  | "RESERVED_NAMESPACE_CLAIM"
  | "CLAIMS_TOO_LARGE"
  | "INVALID_CLAIMS"
  | "INVALID_USER_ID"
  | "INVALID_SESSION_DURATION"
  | "INVALID_ROLES"
  | "INVALID_ATTRIBUTES"
  | "MISSING_SESSION_CREDENTIAL"
  | "TOO_MANY_SESSION_CREDENTIALS"
  | "INVALID_SESSION_CREDENTIAL"
  | "INVALID_AUTHORIZATION_CHECK"
  | "INVALID_REQUEST_FIELD"
  | "INVALID_PAGE_SIZE"
  | "INVALID_PAGE_TOKEN"
  | "SESSION_JWT_TOO_LARGE"
  | "SESSION_LIMIT_REACHED"
  | "KEY_ROTATION_TOO_SOON"
  | "TOO_MANY_WATCHES"
  | "TOO_MANY_PENDING_WRITES"
  | "SESSION_NOT_FOUND"
  | "SERVICE_NOT_FOUND"
  | "INVALID_SESSION_JWT"
  | "INVALID_API_KEY"
  | "CLAIMS_VERSION_MISMATCH"
  | "DATABASE_UNAVAILABLE"
  | "INVALID_CLAIM_TEMPLATE"
  | "CLAIM_TEMPLATE_TOO_LARGE"
  | "CLAIMS_OVERLAY_TOO_LARGE"
  | "USER_NOT_FOUND"
  | "USER_VERSION_MISMATCH"
  | "INVALID_METADATA"
  | "METADATA_TOO_LARGE"
  | "METADATA_TOO_MANY_KEYS"
  | "UNSUPPORTED_USER_FIELD"
  | "INVALID_RBAC_POLICY"
  | "RBAC_POLICY_TOO_LARGE"
  | "PERMISSION_DENIED"
  | "INVALID_EVENT_CURSOR"
  | "EVENT_CURSOR_EXPIRED"
  | "INVALID_WEBHOOK_URL"
  | "WEBHOOK_ENDPOINT_NOT_FOUND"
  | "WEBHOOK_ENDPOINT_LIMIT_REACHED"
  | "INTERNAL";

/** Reasons an InvalidArgumentError may carry: request arguments that are missing or out of range. */
export type InvalidArgumentReason = Extract<
  ErrorReason,
  | "INVALID_USER_ID"
  | "INVALID_SESSION_DURATION"
  | "INVALID_ROLES"
  | "INVALID_ATTRIBUTES"
  | "MISSING_SESSION_CREDENTIAL"
  | "TOO_MANY_SESSION_CREDENTIALS"
  | "INVALID_SESSION_CREDENTIAL"
  | "INVALID_AUTHORIZATION_CHECK"
  | "INVALID_REQUEST_FIELD"
  | "INVALID_PAGE_TOKEN"
  | "INVALID_PAGE_SIZE"
  | "UNSUPPORTED_USER_FIELD"
  | "INVALID_EVENT_CURSOR"
  | "INVALID_WEBHOOK_URL"
>;

/** Base class of every error Tessera reports to callers on purpose. */
export class TesseraError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly reason: ErrorReason,
    message: string,
    readonly metadata: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A custom claim name that is reserved was set or deleted: a registered JWT
 * claim (RESERVED_CLAIM), or a name in the service's own namespace, where its
 * session claim lives (RESERVED_NAMESPACE_CLAIM).
 */
export class ReservedClaimError extends TesseraError {
  constructor(
    readonly claim: string,
    readonly rule: "registered" | "namespace" = "registered",
  ) {
    super(
      "invalid_argument",
      rule === "namespace" ? "RESERVED_NAMESPACE_CLAIM" : "RESERVED_CLAIM",
      rule === "namespace"
        ? `custom claim "${claim}" is reserved: the namespace is the service's own`
        : `custom claim "${claim}" is reserved`,
      { claim },
    );
  }
}

/** The merged claims serialize to more bytes than allowed. */
export class ClaimsTooLargeError extends TesseraError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super("invalid_argument", "CLAIMS_TOO_LARGE", `custom claims are ${size} bytes, over the limit of ${limit} bytes`, {
      size: String(size),
      limit: String(limit),
    });
  }
}

/** Claims that are not acceptable JSON: non-finite numbers, too deep, not an object. */
export class InvalidClaimsError extends TesseraError {
  constructor(message: string, metadata: Record<string, string> = {}) {
    super("invalid_argument", "INVALID_CLAIMS", message, metadata);
  }
}

/** A request argument that is missing or out of range. */
export class InvalidArgumentError extends TesseraError {
  constructor(reason: InvalidArgumentReason, message: string, metadata: Record<string, string> = {}) {
    super("invalid_argument", reason, message, metadata);
  }
}

/** The session JWT would be longer than authenticate accepts back, so the change is refused before it is written. */
export class SessionJwtTooLargeError extends TesseraError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "invalid_argument",
      "SESSION_JWT_TOO_LARGE",
      `the session JWT would be ${size} characters, over the limit of ${limit}; send fewer or smaller claims, roles or attributes`,
      { size: String(size), limit: String(limit) },
    );
  }
}

/** The user already has the most active sessions allowed (MAX_SESSIONS_PER_USER). */
export class SessionLimitReachedError extends TesseraError {
  constructor(readonly limit: number) {
    super(
      "resource_exhausted",
      "SESSION_LIMIT_REACHED",
      `the user already has ${limit} active sessions, the most allowed; revoke one first`,
      { limit: String(limit) },
    );
  }
}

/** Which limit refused a key rotation. */
export type KeyRotationLimit = "KEY_ROTATION_MIN_INTERVAL_SECONDS" | "MAX_PUBLISHED_SIGNING_KEYS";

/** A signing key rotation came too soon after the last one, or too many keys are still published. */
export class KeyRotationTooSoonError extends TesseraError {
  constructor(
    readonly limit: KeyRotationLimit,
    readonly nextAllowedAt: Date,
    now: Date,
  ) {
    const retryAfterSeconds = Math.max(1, Math.ceil((nextAllowedAt.getTime() - now.getTime()) / 1_000));
    const why =
      limit === "KEY_ROTATION_MIN_INTERVAL_SECONDS"
        ? "the newest signing key is younger than KEY_ROTATION_MIN_INTERVAL_SECONDS"
        : "MAX_PUBLISHED_SIGNING_KEYS keys are already published";
    super(
      "resource_exhausted",
      "KEY_ROTATION_TOO_SOON",
      `key rotation refused: ${why}; the next rotation is allowed at ${nextAllowedAt.toISOString()}`,
      { limit, next_allowed_at: nextAllowedAt.toISOString(), retry_after_seconds: String(retryAfterSeconds) },
    );
  }
}

/** No active session matches (unknown, expired or revoked). */
export class SessionNotFoundError extends TesseraError {
  constructor() {
    super("not_found", "SESSION_NOT_FOUND", "session not found, expired or revoked");
  }
}

/** A session JWT that is malformed, badly signed, or from another issuer or audience. */
export class InvalidSessionJwtError extends TesseraError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super("unauthenticated", "INVALID_SESSION_JWT", `invalid session JWT: ${detail}`, {}, options);
  }
}

/** The caller's API key is missing or wrong. */
export class InvalidApiKeyError extends TesseraError {
  constructor(detail: string) {
    super("unauthenticated", "INVALID_API_KEY", detail);
  }
}

/** An optimistic claims update lost: the stored claims_version moved on. */
export class ClaimsVersionMismatchError extends TesseraError {
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super("aborted", "CLAIMS_VERSION_MISMATCH", `claims_version is ${actual}, expected ${expected}`, {
      expected: String(expected),
      actual: String(actual),
    });
  }
}

/** The database cannot be reached right now. */
export class DatabaseUnavailableError extends TesseraError {
  constructor(options?: { cause?: unknown }) {
    super("unavailable", "DATABASE_UNAVAILABLE", "the database is unavailable", {}, options);
  }
}

/** Anything unexpected: a bug or a driver failure. Callers see only "internal error"; the cause goes to the log. */
export class InternalError extends TesseraError {
  constructor(options?: { cause?: unknown }) {
    super("internal", "INTERNAL", "internal error", {}, options);
  }
}

/**
 * The one step that turns anything thrown into a TesseraError, shared by
 * every API surface: domain errors pass through, an unreachable database
 * becomes DatabaseUnavailableError, anything else InternalError (with the
 * original kept as `cause`, for the log only).
 */
export function toTesseraError(err: unknown): TesseraError {
  if (err instanceof TesseraError) return err;
  if (isDatabaseUnavailable(err)) return new DatabaseUnavailableError({ cause: err });
  return new InternalError({ cause: err });
}

/** Why a claim template was refused; stable, for callers to switch on (ErrorDetail metadata `problem`). */
export type ClaimTemplateProblem =
  | "syntax"
  | "invalid_number"
  | "not_an_object"
  | "duplicate_key"
  | "reserved_claim"
  | "too_deep"
  | "variable_as_key"
  | "variable_in_string"
  | "unknown_variable";

/** Where a claim template problem sits: 1-based line and column (in characters) and the JSON Pointer there. */
export interface ClaimTemplateLocation {
  readonly line: number;
  readonly column: number;
  readonly path: string;
}

/** A custom claim template that cannot be compiled; names the problem and where, never a value. */
export class InvalidClaimTemplateError extends TesseraError {
  readonly line: number;
  readonly column: number;
  readonly path: string;

  constructor(
    readonly problem: ClaimTemplateProblem,
    detail: string,
    at: ClaimTemplateLocation,
    extra: Readonly<Record<string, string>> = {},
  ) {
    super(
      "invalid_argument",
      "INVALID_CLAIM_TEMPLATE",
      `invalid claim template at line ${at.line}, column ${at.column}: ${detail}`,
      { problem, line: String(at.line), column: String(at.column), path: at.path, ...extra },
    );
    this.line = at.line;
    this.column = at.column;
    this.path = at.path;
  }
}

/** A custom claim template whose text is longer than allowed. */
export class ClaimTemplateTooLargeError extends TesseraError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "invalid_argument",
      "CLAIM_TEMPLATE_TOO_LARGE",
      `the claim template is ${size} bytes, over the limit of ${limit} bytes`,
      { size: String(size), limit: String(limit) },
    );
  }
}

/** A session's stored claims overlay (its folded patches) would grow past its limit. */
export class ClaimsOverlayTooLargeError extends TesseraError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "invalid_argument",
      "CLAIMS_OVERLAY_TOO_LARGE",
      `the session's custom claims patches take ${size} bytes stored, over the limit of ${limit} bytes`,
      { size: String(size), limit: String(limit) },
    );
  }
}

/**
 * A stored claims overlay that does not decode: corrupt data, not a caller's mistake. Deliberately not a
 * TesseraError, so the error mapper logs it and the caller sees only INTERNAL. Names where, never what.
 */
export class CorruptClaimsOverlayError extends Error {
  /** Stable code to switch on. */
  readonly reason = "CORRUPT_CLAIMS_OVERLAY";

  constructor(
    readonly pointer: string,
    problem: string,
  ) {
    super(`stored claims overlay at ${JSON.stringify(pointer)} ${problem}`);
    this.name = new.target.name;
  }
}

/** No user record with this id. */
export class UserNotFoundError extends TesseraError {
  constructor() {
    // Stytch's wording, which its dialect returns as is.
    super("not_found", "USER_NOT_FOUND", "User could not be found.");
  }
}

/** An UpdateUser with expected_version lost: the record's version moved on. */
export class UserVersionMismatchError extends TesseraError {
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super("aborted", "USER_VERSION_MISMATCH", `user version is ${actual}, expected ${expected}`, {
      expected: String(expected),
      actual: String(actual),
    });
  }
}

/** User metadata that is not acceptable JSON (not an object, non-finite numbers, too deep). */
export class InvalidMetadataError extends TesseraError {
  constructor(field: string, detail: string) {
    super("invalid_argument", "INVALID_METADATA", `${field}: ${detail}`, { field });
  }
}

/** User metadata whose compact JSON is over its limit. */
export class MetadataTooLargeError extends TesseraError {
  constructor(field: string, size: number, limit: number) {
    super("invalid_argument", "METADATA_TOO_LARGE", `${field} is ${size} bytes, over the limit of ${limit} bytes`, {
      field,
      size: String(size),
      limit: String(limit),
    });
  }
}

/** User metadata with more top-level keys than allowed (Stytch's dialect: 20, as Stytch documents). */
export class MetadataTooManyKeysError extends TesseraError {
  constructor(field: string, count: number, limit: number) {
    super(
      "invalid_argument",
      "METADATA_TOO_MANY_KEYS",
      `${field} has ${count} top-level keys, over the limit of ${limit}`,
      { field, count: String(count), limit: String(limit) },
    );
  }
}

/**
 * A template or user change refused because it would push live sessions'
 * claims over the limit; names the first sessions (ids only, never claims).
 */
export class SessionClaimsTooLargeError extends TesseraError {
  constructor(
    readonly sessionIds: readonly string[],
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "invalid_argument",
      "CLAIMS_TOO_LARGE",
      `the change would make the custom claims of session ${sessionIds.join(", ")} ${size} bytes, over the limit of ${limit} bytes`,
      { session_ids: sessionIds.join(","), size: String(size), limit: String(limit) },
    );
  }
}

/** A session already has PATCH_QUEUE_MAX claims writes waiting in this process: refused before it queues. */
export class TooManyPendingWritesError extends TesseraError {
  constructor(limit: number) {
    super(
      "resource_exhausted",
      "TOO_MANY_PENDING_WRITES",
      `too many claims writes of this session waiting (limit ${limit})`,
      {
        limit: String(limit),
      },
    );
  }
}

/** A caller holds as many long-lived calls of a kind as it may (per connection or on the whole server). */
export class TooManyCallsError extends TesseraError {
  constructor(
    reason: Extract<ErrorReason, "TOO_MANY_WATCHES">,
    what: string,
    scope: "connection" | "server",
    limit: number,
  ) {
    super("resource_exhausted", reason, `too many open ${what} on this ${scope} (limit ${limit})`, {
      scope,
      limit: String(limit),
    });
  }
}

/**
 * A cursor older than the retention horizon: events after it were swept, so
 * resuming from it would silently skip them. Start again from the empty cursor
 * (the oldest event kept) and rebuild what depends on the feed.
 */
export class EventCursorExpiredError extends TesseraError {
  constructor() {
    super(
      "failed_precondition",
      "EVENT_CURSOR_EXPIRED",
      "after_cursor is older than the event retention: events after it were deleted; start again from an empty cursor",
    );
  }
}

/** An RBAC policy that cannot be set; names the offending entry (e.g. `roles[1].permissions[0]`), and nothing changes. */
export class InvalidRbacPolicyError extends TesseraError {
  constructor(
    readonly entry: string,
    detail: string,
  ) {
    super("invalid_argument", "INVALID_RBAC_POLICY", `invalid RBAC policy at ${entry}: ${detail}`, { entry });
  }
}

/** An RBAC policy whose compact JSON is over RBAC_POLICY_MAX_BYTES. */
export class RbacPolicyTooLargeError extends TesseraError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "invalid_argument",
      "RBAC_POLICY_TOO_LARGE",
      `the RBAC policy is ${size} bytes, over the limit of ${limit} bytes`,
      {
        size: String(size),
        limit: String(limit),
      },
    );
  }
}

/** An authorization check denied: none of the session's roles grants the action on the resource; nothing was written. */
export class PermissionDeniedError extends TesseraError {
  constructor(resourceId: string, action: string) {
    super(
      "permission_denied",
      "PERMISSION_DENIED",
      "The User is not authorized to perform the requested action on that resource.",
      { resource_id: resourceId, action },
    );
  }
}

/** No webhook endpoint with this id. */
export class WebhookEndpointNotFoundError extends TesseraError {
  constructor() {
    super("not_found", "WEBHOOK_ENDPOINT_NOT_FOUND", "webhook endpoint not found");
  }
}

/** WEBHOOK_MAX_ENDPOINTS endpoints are registered already. */
export class WebhookEndpointLimitReachedError extends TesseraError {
  constructor(readonly limit: number) {
    super(
      "resource_exhausted",
      "WEBHOOK_ENDPOINT_LIMIT_REACHED",
      `${limit} webhook endpoints are registered, the most allowed (WEBHOOK_MAX_ENDPOINTS); delete one first`,
      { limit: String(limit) },
    );
  }
}
