export { applyClaimsPatch, validateInitialClaims } from "./apply-claims-patch.js";
export type { ClaimsPolicy } from "./claims-policy.js";
export { DEFAULT_CLAIMS_POLICY, isReservedClaim, RESERVED_CLAIMS } from "./claims-policy.js";
export type { JsonObject, JsonValue } from "./json.js";
export { isJsonObject } from "./json.js";
export { mergePatch } from "./merge-patch.js";
export {
  assertClaimsObject,
  assertClaimsSize,
  assertJsonClaims,
  assertNoReservedClaims,
} from "./validate-claims.js";
