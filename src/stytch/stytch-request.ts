import { isJsonObject, type JsonObject } from "../claims/json.js";
import { InvalidArgumentError } from "../errors.js";
import type { SessionCredential } from "../sessions/session.service.js";
import { validCredential, validDuration } from "../sessions/session-input.js";

/** A parsed JSON request body. */
export type JsonBody = Readonly<Record<string, unknown>>;

/** The credential fields a Stytch request may name, mapped to Tessera's credential kinds. */
const CREDENTIAL_FIELDS = {
  session_token: "sessionToken",
  session_jwt: "sessionJwt",
  session_id: "sessionId",
} as const;

type CredentialField = keyof typeof CREDENTIAL_FIELDS;

/** An own field of the body; absent and null both mean "not given" (some SDKs send null for unset fields). */
export function given(body: JsonBody, name: string): unknown {
  return Object.hasOwn(body, name) ? (body[name] ?? undefined) : undefined;
}

/** An optional string field; anything but a string is a bad request. */
export function optionalString(body: JsonBody, name: string): string | undefined {
  const value = given(body, name);
  if (value !== undefined && typeof value !== "string") {
    throw new InvalidArgumentError("INVALID_REQUEST_FIELD", `${name} must be a string`, { field: name });
  }
  return value;
}

/** Exactly one non-empty credential among `fields`, else no_session_arguments or too_many_session_arguments. */
export function credentialFrom(body: JsonBody, fields: readonly CredentialField[]): SessionCredential {
  const present = fields.flatMap((field) => {
    const value = optionalString(body, field);
    return value === undefined || value === "" ? [] : [{ case: CREDENTIAL_FIELDS[field], value }];
  });
  if (present.length > 1) {
    throw new InvalidArgumentError("TOO_MANY_SESSION_CREDENTIALS", `send exactly one of ${fields.join(", ")}`);
  }
  return validCredential(present[0] ?? { case: undefined });
}

/** session_duration_minutes: an integer from 5 to 527040, or undefined. */
export function durationFrom(body: JsonBody): number | undefined {
  const value = given(body, "session_duration_minutes");
  if (value !== undefined && typeof value !== "number") {
    throw new InvalidArgumentError("INVALID_SESSION_DURATION", "session_duration_minutes must be a number");
  }
  return validDuration(value);
}

/** session_custom_claims: a JSON object, or undefined. The claims core checks names, text, size and depth. */
export function customClaimsFrom(body: JsonBody): JsonObject | undefined {
  const value = given(body, "session_custom_claims");
  if (value !== undefined && !isJsonObject(value)) {
    throw new InvalidArgumentError("INVALID_REQUEST_FIELD", "session_custom_claims must be a JSON object", {
      field: "session_custom_claims",
    });
  }
  return value as JsonObject | undefined;
}
