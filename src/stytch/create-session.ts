import { isJsonObject } from "../claims/json.js";
import { InvalidArgumentError } from "../errors.js";
import { SESSION_DURATION_MINUTES, validAttributes, validUserId } from "../sessions/session-input.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { customClaimsFrom, durationFrom, given, type JsonBody, optionalString } from "./stytch-request.js";
import { toStytchIssued } from "./stytch-session.js";
import { rolesFrom } from "./stytch-user-request.js";

/**
 * POST /v1/sessions/tessera/create: a Tessera extension, not part of Stytch's API
 * (Stytch starts sessions in its login products). Creates a session for a user
 * the caller has authenticated itself.
 */
export function createSession(deps: StytchDeps): StytchEndpoint {
  return {
    method: "POST",
    path: "/v1/sessions/tessera/create",
    async handle({ body }) {
      const issued = await deps.sessions.create({
        userId: validUserId(optionalString(body, "user_id") ?? ""),
        durationMinutes: durationFrom(body) ?? SESSION_DURATION_MINUTES.default,
        customClaims: customClaimsFrom(body) ?? {},
        attributes: attributesFrom(body),
        roles: rolesFrom(body) ?? [],
      });
      return toStytchIssued(issued, deps.timestampPrecision);
    },
  };
}

function attributesFrom(body: JsonBody): { ipAddress: string; userAgent: string } {
  const value = given(body, "attributes");
  if (value === undefined) return validAttributes(undefined);
  if (!isJsonObject(value)) {
    throw new InvalidArgumentError("INVALID_REQUEST_FIELD", "attributes must be a JSON object", {
      field: "attributes",
    });
  }
  return validAttributes({
    ipAddress: optionalString(value, "ip_address") ?? "",
    userAgent: optionalString(value, "user_agent") ?? "",
  });
}
