import { isJsonObject, type JsonObject } from "../claims/json.js";
import { InvalidArgumentError, InvalidMetadataError } from "../errors.js";
import { validRoles } from "../sessions/session-input.js";
import { given, type JsonBody } from "./stytch-request.js";

/** Fields of Stytch's users.update that Tessera's users do not have. */
const UNSUPPORTED_USER_FIELDS = ["name", "attributes", "external_id"] as const;

/** Refuses the users.update fields Tessera has no place for, rather than dropping them silently. */
export function refuseUnsupportedUserFields(body: JsonBody): void {
  for (const field of UNSUPPORTED_USER_FIELDS) {
    if (given(body, field) !== undefined) {
      throw new InvalidArgumentError(
        "UNSUPPORTED_USER_FIELD",
        `${field} is not supported: Tessera's users have only trusted_metadata, untrusted_metadata and roles`,
        { field },
      );
    }
  }
}

/** A metadata field: a JSON object, or undefined when not given. The user service checks size, depth and keys. */
export function metadataFrom(body: JsonBody, name: "trusted_metadata" | "untrusted_metadata"): JsonObject | undefined {
  const value = given(body, name);
  if (value !== undefined && !isJsonObject(value)) throw new InvalidMetadataError(name, "must be a JSON object");
  return value as JsonObject | undefined;
}

/** roles: a list of role names, or undefined when not given. */
export function rolesFrom(body: JsonBody): readonly string[] | undefined {
  const value = given(body, "roles");
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((role) => typeof role === "string")) {
    throw new InvalidArgumentError("INVALID_REQUEST_FIELD", "roles must be a list of strings", { field: "roles" });
  }
  return validRoles(value);
}
