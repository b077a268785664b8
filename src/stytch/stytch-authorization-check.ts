import { isJsonObject } from "../claims/json.js";
import { InvalidArgumentError } from "../errors.js";
import type { AuthorizationCheck, AuthorizationVerdict } from "../rbac/rbac-policy.js";
import { validAuthorizationCheck } from "../sessions/session-input.js";
import { given, type JsonBody } from "./stytch-request.js";

/** authorization_check: `{resource_id, action}` (B2C has no organization_id), or undefined when not given. */
export function authorizationCheckFrom(body: JsonBody): AuthorizationCheck | undefined {
  const value = given(body, "authorization_check");
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) {
    throw new InvalidArgumentError("INVALID_AUTHORIZATION_CHECK", "authorization_check must be a JSON object");
  }
  const unknown = Object.keys(value).find((key) => key !== "resource_id" && key !== "action");
  if (unknown !== undefined) {
    throw new InvalidArgumentError(
      "INVALID_AUTHORIZATION_CHECK",
      "authorization_check takes only resource_id and action",
      { field: `authorization_check.${unknown.slice(0, 64)}` },
    );
  }
  return validAuthorizationCheck({ resourceId: value.resource_id, action: value.action });
}

/** The verdict as Stytch's authenticate response spells it. */
export function toStytchVerdict(verdict: AuthorizationVerdict): Record<string, unknown> {
  return { authorized: verdict.authorized, granting_roles: [...verdict.grantingRoles] };
}
