import { isDatabaseUnavailable } from "../db/database.js";
import { type ErrorKind, TesseraError } from "../errors.js";
import type { Logger } from "../logger.js";
import { describe } from "../rpc/error-mapper.js";

/** A failure of the HTTP exchange itself (route, method, body) on the Stytch surface, with its status and error_type. */
export class StytchHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "StytchHttpError";
  }
}

/** The error fields of a Stytch error response, before request_id is added. */
export interface StytchErrorFields {
  readonly status_code: number;
  readonly error_type: string;
  readonly error_message: string;
  readonly error_url: string;
}

/** Stytch's error types (and statuses) for each domain reason; Tessera-only reasons get names in the same style. */
const BY_REASON: Readonly<Record<string, readonly [number, string]>> = {
  RESERVED_CLAIM: [400, "reserved_claims_in_custom_claims"],
  CLAIMS_TOO_LARGE: [400, "custom_claims_too_large"],
  INVALID_CLAIMS: [400, "invalid_custom_claims"],
  INVALID_USER_ID: [400, "invalid_user_id"],
  INVALID_SESSION_DURATION: [400, "invalid_session_duration_minutes"],
  INVALID_ROLES: [400, "invalid_roles"],
  INVALID_ATTRIBUTES: [400, "invalid_attributes"],
  MISSING_SESSION_CREDENTIAL: [400, "no_session_arguments"],
  TOO_MANY_SESSION_CREDENTIALS: [400, "too_many_session_arguments"],
  INVALID_SESSION_CREDENTIAL: [400, "invalid_session_argument"],
  UNSUPPORTED_AUTHORIZATION_CHECK: [400, "authorization_check_not_supported"],
  INVALID_REQUEST_FIELD: [400, "bad_request"],
  SESSION_NOT_FOUND: [404, "session_not_found"],
  INVALID_SESSION_JWT: [401, "unable_to_parse_session_jwt"],
  INVALID_API_KEY: [401, "unauthorized_credentials"],
  CLAIMS_VERSION_MISMATCH: [409, "claims_version_mismatch"],
  DATABASE_UNAVAILABLE: [503, "service_unavailable"],
};

const BY_KIND: Readonly<Record<ErrorKind, readonly [number, string]>> = {
  invalid_argument: [400, "bad_request"],
  failed_precondition: [400, "bad_request"],
  not_found: [404, "not_found"],
  unauthenticated: [401, "unauthorized_credentials"],
  aborted: [409, "conflict"],
  unavailable: [503, "service_unavailable"],
  resource_exhausted: [429, "too_many_requests"],
};

/** Maps anything a Stytch route throws to Stytch's error fields; unexpected errors are logged and answered as a bare 500. */
export function toStytchError(err: unknown, logger: Logger, route: string): StytchErrorFields {
  if (err instanceof StytchHttpError) return fields(err.status, err.errorType, err.message);
  if (err instanceof TesseraError) {
    const [status, type] = BY_REASON[err.reason] ?? BY_KIND[err.kind];
    return fields(status, type, err.message);
  }
  if (isDatabaseUnavailable(err)) {
    logger.warn({ route, err: describe(err) }, "database unavailable");
    return fields(503, "service_unavailable", "the database is unavailable");
  }
  logger.error({ route, err: describe(err) }, "unexpected error");
  return fields(500, "internal_server_error", "internal error");
}

function fields(status: number, type: string, message: string): StytchErrorFields {
  return {
    status_code: status,
    error_type: type,
    error_message: message,
    error_url: `https://stytch.com/docs/api/errors/${status}#${type}`,
  };
}
