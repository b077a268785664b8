import { InvalidArgumentError } from "../errors.js";
import type { AuthorizationCheck } from "../rbac/rbac-policy.js";
import { isStorableText } from "../storable-text.js";
import type { SessionAttributes } from "./session.js";
import type { SessionCredential } from "./session.service.js";

/** Shortest and longest session lifetime, in minutes (as Stytch: 5 minutes to a year). */
export const SESSION_DURATION_MINUTES = { min: 5, max: 527_040, default: 60 } as const;

/** Most roles a session carries, and the longest role name. */
const MAX_ROLES = 100;
const MAX_ROLE_LENGTH = 128;

/** Why text is refused, for messages: they name the field, never its value. */
const UNSTORABLE = "must not contain NUL characters (U+0000) or lone surrogates";

/** A user id: 1 to 128 characters, with no NUL and no lone surrogate. */
export function validUserId(userId: string): string {
  const length = [...userId].length;
  if (length < 1 || length > 128) {
    throw new InvalidArgumentError("INVALID_USER_ID", "user_id must be 1 to 128 characters", {
      length: String(length),
    });
  }
  if (!isStorableText(userId)) throw new InvalidArgumentError("INVALID_USER_ID", `user_id ${UNSTORABLE}`);
  return userId;
}

/** session_duration_minutes within 5..527040, or undefined when unset. */
export function validDuration(minutes: number | undefined): number | undefined {
  if (minutes === undefined) return undefined;
  if (!Number.isInteger(minutes) || minutes < SESSION_DURATION_MINUTES.min || minutes > SESSION_DURATION_MINUTES.max) {
    throw new InvalidArgumentError(
      "INVALID_SESSION_DURATION",
      `session_duration_minutes must be from ${SESSION_DURATION_MINUTES.min} to ${SESSION_DURATION_MINUTES.max}`,
      { value: String(minutes) },
    );
  }
  return minutes;
}

/** Roles: at most 100, each 1 to 128 characters with no NUL and no lone surrogate. */
export function validRoles(roles: readonly string[]): readonly string[] {
  if (roles.length > MAX_ROLES) {
    throw new InvalidArgumentError("INVALID_ROLES", `roles must be at most ${MAX_ROLES} names`, {
      problem: "too_many",
      limit: String(MAX_ROLES),
    });
  }
  for (const [index, role] of roles.entries()) {
    if (role.length < 1 || role.length > MAX_ROLE_LENGTH || !isStorableText(role)) {
      throw new InvalidArgumentError(
        "INVALID_ROLES",
        `roles[${index}] must be 1 to ${MAX_ROLE_LENGTH} characters and ${UNSTORABLE}`,
        { problem: "invalid_name", index: String(index) },
      );
    }
  }
  return roles;
}

/** Attributes: ip_address up to 64 characters, user_agent up to 1024, neither with NUL or a lone surrogate. */
export function validAttributes(attributes: { ipAddress: string; userAgent: string } | undefined): SessionAttributes {
  const ipAddress = attributes?.ipAddress ?? "";
  const userAgent = attributes?.userAgent ?? "";
  checkAttribute("ip_address", ipAddress, 64);
  checkAttribute("user_agent", userAgent, 1024);
  return { ipAddress, userAgent };
}

function checkAttribute(field: "ip_address" | "user_agent", value: string, maxLength: number): void {
  if (value.length > maxLength || !isStorableText(value)) {
    throw new InvalidArgumentError(
      "INVALID_ATTRIBUTES",
      `attributes.${field} must be at most ${maxLength} characters and ${UNSTORABLE}`,
      { field },
    );
  }
}

/** Longest credential (session token, JWT or session id) accepted; every minted JWT fits (checked in Sessions). */
export const MAX_CREDENTIAL_LENGTH = 8192;

type CredentialCase =
  | { case: "sessionToken"; value: string }
  | { case: "sessionJwt"; value: string }
  | { case: "sessionId"; value: string }
  | { case: undefined; value?: undefined };

/** The wire name of each credential field, for messages and metadata. */
const CREDENTIAL_FIELD = { sessionToken: "session_token", sessionJwt: "session_jwt", sessionId: "session_id" } as const;

/** Exactly one non-empty credential; the oneof makes "more than one" impossible on the wire. */
export function validCredential(credential: CredentialCase): SessionCredential {
  if (credential.case === undefined || credential.value === "") {
    throw new InvalidArgumentError(
      "MISSING_SESSION_CREDENTIAL",
      "exactly one of session_token, session_jwt (or session_id, where accepted) is required",
    );
  }
  const field = CREDENTIAL_FIELD[credential.case];
  if (credential.value.length > MAX_CREDENTIAL_LENGTH) {
    throw new InvalidArgumentError("INVALID_SESSION_CREDENTIAL", `${field} is too long`, { field });
  }
  if (!isStorableText(credential.value)) {
    throw new InvalidArgumentError("INVALID_SESSION_CREDENTIAL", `${field} ${UNSTORABLE}`, { field });
  }
  switch (credential.case) {
    case "sessionToken":
      return { kind: "token", token: credential.value };
    case "sessionJwt":
      return { kind: "jwt", jwt: credential.value };
    case "sessionId":
      return { kind: "id", sessionId: credential.value };
  }
}

/** An authorization check: `resource_id` and `action`, each 1 to 128 characters; undefined when not given. */
export function validAuthorizationCheck(
  check: { readonly resourceId: unknown; readonly action: unknown } | undefined,
): AuthorizationCheck | undefined {
  if (check === undefined) return undefined;
  const { resourceId, action } = check;
  for (const [name, value] of [
    ["resource_id", resourceId],
    ["action", action],
  ] as const) {
    if (typeof value !== "string" || value.length < 1 || value.length > 128) {
      throw new InvalidArgumentError(
        "INVALID_AUTHORIZATION_CHECK",
        `authorization_check.${name} must be a string of 1 to 128 characters`,
        { field: `authorization_check.${name}` },
      );
    }
  }
  return { resourceId: resourceId as string, action: action as string };
}
