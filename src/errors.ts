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
  | "UNSUPPORTED_AUTHORIZATION_CHECK"
  | "INVALID_REQUEST_FIELD"
  | "SESSION_NOT_FOUND"
  | "SERVICE_NOT_FOUND"
  | "INVALID_SESSION_JWT"
  | "INVALID_API_KEY"
  | "CLAIMS_VERSION_MISMATCH"
  | "DATABASE_UNAVAILABLE"
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
  | "UNSUPPORTED_AUTHORIZATION_CHECK"
  | "INVALID_REQUEST_FIELD"
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
