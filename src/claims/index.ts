export type { JsonObject, JsonValue } from "./json.js";
export { isJsonObject } from "./json.js";
export { mergePatch } from "./merge-patch.js";
export { DEFAULT_CLAIMS_POLICY, RESERVED_CLAIMS, isReservedClaim } from "./claims-policy.js";
export type { ClaimsPolicy } from "./claims-policy.js";
export {
  assertClaimsObject,
  assertClaimsSize,
  assertJsonClaims,
  assertNoReservedClaims,
} from "./validate-claims.js";
export { applyClaimsPatch, validateInitialClaims } from "./apply-claims-patch.js";
