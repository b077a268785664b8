export { applyClaimsPatch, validateInitialClaims } from "./apply-claims-patch.js";
export type { ClaimsPolicy } from "./claims-policy.js";
export { DEFAULT_CLAIMS_POLICY, isReservedClaim, RESERVED_CLAIMS } from "./claims-policy.js";
export type { JsonObject, JsonValue } from "./json.js";
export { isJsonObject } from "./json.js";
export { mergePatch } from "./merge-patch.js";
export type { ClaimsOverlay, OverlayDelete, OverlayMerge, OverlayNode, OverlayReplace } from "./overlay.js";
export { applyOverlay, composeOverlays, EMPTY_OVERLAY, overlayFromPatch, overlaySetPaths } from "./overlay.js";
export { MAX_STORED_OVERLAY_DEPTH, overlayByteSize, overlayFromJson, overlayToJson } from "./overlay-json.js";
export type { PatchedOverlay } from "./session-overlay.js";
export { defaultMaxOverlayBytes, effectiveClaims, patchSessionOverlay } from "./session-overlay.js";
export * from "./template/index.js";
export {
  assertClaimsObject,
  assertClaimsSize,
  assertJsonClaims,
  assertNoReservedClaims,
} from "./validate-claims.js";
