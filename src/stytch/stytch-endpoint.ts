import type { TimestampPrecision } from "../clock.js";
import type { ErrorReason } from "../errors.js";
import type { KeyStore } from "../keys/key-store.js";
import type { RbacPolicies } from "../rbac/rbac-policies.js";
import type { Sessions } from "../sessions/session.service.js";
import type { Users } from "../users/user.service.js";
import type { JsonBody } from "./stytch-request.js";

/** What the Stytch endpoints need from the app. */
export interface StytchDeps {
  readonly projectId: string;
  readonly sessions: Sessions;
  readonly users: Users;
  readonly keys: KeyStore;
  /** Seconds in the Stytch JWT profile (as Stytch sends them), milliseconds otherwise. */
  readonly timestampPrecision: TimestampPrecision;
  readonly rbac: RbacPolicies;
}

/** The parts of a request an endpoint reads, already authenticated when the endpoint needs it. */
export interface StytchInput {
  /** The JSON body of a POST, PUT or DELETE (`{}` for GET). */
  readonly body: JsonBody;
  readonly query: URLSearchParams;
  /** Path parameters, decoded: `:name` segments of the pattern. */
  readonly params: Readonly<Record<string, string>>;
}

/** One Stytch REST endpoint: method, path pattern, and the handler that returns the success body. */
export interface StytchEndpoint {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path with `:name` segments, e.g. `/v1/sessions/jwks/:project_id`. */
  readonly path: string;
  /** True when the endpoint needs no HTTP Basic credentials. */
  readonly public?: boolean;
  /** Stytch error types this endpoint uses instead of the surface-wide ones (e.g. revoke's own argument errors). */
  readonly errorTypes?: Readonly<Partial<Record<ErrorReason, string>>>;
  handle(input: StytchInput): Promise<Record<string, unknown>>;
}
