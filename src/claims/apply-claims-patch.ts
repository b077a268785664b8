import type { ClaimsPolicy } from "./claims-policy.js";
import type { JsonObject } from "./json.js";
import { mergePatch } from "./merge-patch.js";
import { assertClaimsObject, assertClaimsSize, assertJsonClaims, assertNoReservedClaims } from "./validate-claims.js";

/** Validates a merge patch, applies it to the current claims, and returns the checked result; mutates nothing. */
export function applyClaimsPatch(current: JsonObject, patch: JsonObject, policy: ClaimsPolicy): JsonObject {
  assertClaimsObject(current);
  assertClaimsObject(patch);
  // Checked first, so a name that cannot be carried never reaches an error message.
  assertJsonClaims(patch, policy);
  // Deleting a reserved claim (null value) is refused too: custom claims never touch those names.
  assertNoReservedClaims(patch, policy);
  const merged = mergePatch(current, patch);
  assertJsonClaims(merged, policy);
  assertClaimsSize(merged, policy);
  return merged;
}

/** Validates claims given at session creation; a null value there simply means the claim is absent. */
export function validateInitialClaims(claims: JsonObject, policy: ClaimsPolicy): JsonObject {
  return applyClaimsPatch({}, claims, policy);
}
