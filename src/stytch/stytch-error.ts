import { codeToString } from "@connectrpc/connect/protocol-connect";
import { type ErrorReason, type TesseraError, toTesseraError } from "../errors.js";
import type { Logger } from "../logger.js";
import { codeOf, logUnexpected } from "../rpc/error-mapper.js";

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

/** A Stytch error response and the gRPC code name it is counted under. */
export interface StytchFailure {
  readonly fields: StytchErrorFields;
  readonly code: string;
}

/**
 * Stytch's error types (and statuses) for each domain reason, from Stytch's own
 * list of error types; the few Tessera-only reasons get names in the same style.
 */
const BY_REASON: Readonly<Record<ErrorReason, readonly [number, string]>> = {
  RESERVED_CLAIM: [400, "reserved_claims_in_custom_claims"],
  RESERVED_NAMESPACE_CLAIM: [400, "stytch_claims_in_custom_claims"],
  CLAIMS_TOO_LARGE: [400, "custom_claims_too_large"],
  INVALID_CLAIMS: [400, "unable_to_represent_custom_claims_json"],
  INVALID_USER_ID: [400, "invalid_user_id"],
  INVALID_SESSION_DURATION: [400, "invalid_session_duration_minutes"],
  INVALID_ROLES: [400, "invalid_rbac_role_id"],
  INVALID_ATTRIBUTES: [400, "bad_request"],
  MISSING_SESSION_CREDENTIAL: [400, "no_session_arguments"],
  TOO_MANY_SESSION_CREDENTIALS: [400, "too_many_session_arguments"],
  INVALID_SESSION_CREDENTIAL: [400, "bad_request"],
  INVALID_AUTHORIZATION_CHECK: [400, "invalid_authorization_check"],
  INVALID_REQUEST_FIELD: [400, "bad_request"],
  INVALID_PAGE_SIZE: [400, "invalid_page_size"],
  INVALID_PAGE_TOKEN: [400, "invalid_page_token"],
  INVALID_EVENT_CURSOR: [400, "invalid_event_cursor"],
  EVENT_CURSOR_EXPIRED: [400, "event_cursor_expired"],
  INVALID_WEBHOOK_URL: [400, "invalid_webhook_url"],
  WEBHOOK_ENDPOINT_NOT_FOUND: [404, "webhook_endpoint_not_found"],
  WEBHOOK_ENDPOINT_LIMIT_REACHED: [429, "webhook_endpoint_limit_reached"],
  SESSION_JWT_TOO_LARGE: [400, "session_jwt_too_large"],
  SESSION_LIMIT_REACHED: [429, "session_limit_reached"],
  TOO_MANY_WATCHES: [429, "too_many_requests"],
  TOO_MANY_PENDING_WRITES: [429, "too_many_requests"],
  KEY_ROTATION_TOO_SOON: [429, "key_rotation_too_soon"],
  SESSION_NOT_FOUND: [404, "session_not_found"],
  INVALID_SESSION_JWT: [401, "unable_to_parse_session_jwt"],
  INVALID_API_KEY: [401, "unauthorized_credentials"],
  CLAIMS_VERSION_MISMATCH: [409, "claims_version_mismatch"],
  SERVICE_NOT_FOUND: [404, "route_not_found"],
  INVALID_CLAIM_TEMPLATE: [400, "invalid_claim_template"],
  CLAIM_TEMPLATE_TOO_LARGE: [400, "claim_template_too_large"],
  CLAIMS_OVERLAY_TOO_LARGE: [400, "custom_claims_too_large"],
  USER_NOT_FOUND: [404, "user_not_found"],
  USER_VERSION_MISMATCH: [409, "user_version_mismatch"],
  INVALID_METADATA: [400, "metadata_invalid_format"],
  METADATA_TOO_LARGE: [400, "metadata_too_large"],
  METADATA_TOO_MANY_KEYS: [400, "metadata_too_many_keys"],
  UNSUPPORTED_USER_FIELD: [400, "user_field_not_supported"],
  INVALID_RBAC_POLICY: [400, "invalid_rbac_policy"],
  RBAC_POLICY_TOO_LARGE: [400, "rbac_policy_too_large"],
  PERMISSION_DENIED: [403, "consumer_session_authorization_error"],
  DATABASE_UNAVAILABLE: [503, "server_unavailable"],
  INTERNAL: [500, "internal_server_error"],
};

/** Where Stytch has a type per field (or per problem), the `field` or `problem` an error names picks it. */
const BY_DETAIL: Readonly<Partial<Record<ErrorReason, Readonly<Record<string, string>>>>> = {
  INVALID_ATTRIBUTES: { ip_address: "invalid_ip_address", user_agent: "invalid_user_agent" },
  INVALID_SESSION_CREDENTIAL: {
    session_token: "invalid_session_token",
    session_id: "invalid_session_id",
    session_jwt: "unable_to_parse_session_jwt",
  },
  INVALID_ROLES: { too_many: "too_many_roles" },
};

/** The gRPC code name an HTTP-level failure (route, method, body) is counted under. */
const HTTP_STATUS_CODES: Readonly<Record<number, string>> = {
  400: "invalid_argument",
  401: "unauthenticated",
  404: "not_found",
  405: "unimplemented",
  413: "resource_exhausted",
};

/**
 * Maps anything a Stytch route throws to Stytch's error fields; unexpected errors are logged and answered as a bare 500.
 * `errorTypes` are the endpoint's own types for some reasons.
 */
export function toStytchError(
  err: unknown,
  logger: Logger,
  route: string,
  errorTypes: Readonly<Partial<Record<ErrorReason, string>>> = {},
): StytchFailure {
  if (err instanceof StytchHttpError) {
    return { fields: fields(err.status, err.errorType, err.message), code: HTTP_STATUS_CODES[err.status] ?? "unknown" };
  }
  const domain = toTesseraError(err);
  logUnexpected(domain, logger, { route });
  const [status, surfaceType] = BY_REASON[domain.reason];
  const type = errorTypes[domain.reason] ?? detailedType(domain) ?? surfaceType;
  return { fields: fields(status, type, domain.message), code: codeToString(codeOf(domain.kind)) };
}

function detailedType(err: TesseraError): string | undefined {
  const table = BY_DETAIL[err.reason];
  const detail = err.metadata.field ?? err.metadata.problem;
  return table !== undefined && detail !== undefined && Object.hasOwn(table, detail) ? table[detail] : undefined;
}

function fields(status: number, type: string, message: string): StytchErrorFields {
  return {
    status_code: status,
    error_type: type,
    error_message: message,
    error_url: `https://stytch.com/docs/api/errors/${status}#${type}`,
  };
}
