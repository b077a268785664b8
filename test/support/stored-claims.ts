import { applyOverlay, type JsonObject, overlayFromJson } from "../../src/claims/index.js";

/** The claims a stored `claims_overlay` gives with no claim template (the base is `{}`). */
export function storedClaims(claimsOverlay: unknown): JsonObject {
  return applyOverlay({}, overlayFromJson(claimsOverlay));
}
