/**
 * Typed domain errors. Every error has a stable `reason` that callers switch on,
 * and a `kind` that decides its gRPC code in exactly one place
 * (`src/rpc/error-mapper.ts`). Messages and metadata never hold secrets:
 * no token, JWT, key or claim value, only names, sizes and limits.
 */

/** The class of failure; mapped to a gRPC code by the error mapper. */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "unauthenticated"
  | "aborted"
  | "unavailable"
  | "failed_precondition"
  | "resource_exhausted";

/** Base class of every error Tessera reports to callers on purpose. */
export class TesseraError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    readonly metadata: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A custom claim name that is reserved was set or deleted. */
export class ReservedClaimError extends TesseraError {
  constructor(readonly claim: string) {
    super("invalid_argument", "RESERVED_CLAIM", `custom claim "${claim}" is reserved`, { claim });
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
  constructor(reason: string, message: string, metadata: Record<string, string> = {}) {
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

/** A caller holds as many long-lived calls of a kind as it may (per connection or on the whole server). */
export class TooManyCallsError extends TesseraError {
  constructor(reason: string, what: string, scope: "connection" | "server", limit: number) {
    super("resource_exhausted", reason, `too many open ${what} on this ${scope} (limit ${limit})`, {
      scope,
      limit: String(limit),
    });
  }
}
