/**
 * The checks a session service needs around overlays: the effective claims of a session (base plus overlay)
 * within the policy, and a patch folded into a session's overlay. Refusing, never trimming, keeps the promise
 * that a claim a caller set is never silently dropped: a patch whose effective claims would be too large is
 * refused, and so must be a template or metadata change that would push a live session's effective claims over
 * the limit (the service calls `effectiveClaims` with the new base for each live session before committing).
 */
import { ClaimsOverlayTooLargeError } from "../errors.js";
import type { ClaimsPolicy } from "./claims-policy.js";
import type { JsonObject } from "./json.js";
import type { ClaimsOverlay } from "./overlay.js";
import { applyOverlay, composeOverlays, overlayFromPatch } from "./overlay.js";
import { overlayByteSize } from "./overlay-json.js";
import { assertClaimsObject, assertClaimsSize, assertJsonClaims, assertNoReservedClaims } from "./validate-claims.js";

/** A session's new overlay after a patch, and its effective claims over the base it was checked against. */
export interface PatchedOverlay {
  readonly overlay: ClaimsOverlay;
  readonly claims: JsonObject;
}

/**
 * Default cap on the stored size of one session's overlay: twice the claims limit. Deletions of keys the base
 * lacks today stay in the overlay (the base may gain them later), so the overlay needs a bound of its own.
 */
export function defaultMaxOverlayBytes(policy: ClaimsPolicy): number {
  return 2 * policy.maxBytes;
}

/**
 * A session's effective claims: `overlay` applied to `base`, checked like any claims (no reserved top-level
 * name, finite JSON, policy depth and size). Throws ReservedClaimError, InvalidClaimsError or ClaimsTooLargeError.
 */
export function effectiveClaims(base: JsonObject, overlay: ClaimsOverlay, policy: ClaimsPolicy): JsonObject {
  const claims = applyOverlay(base, overlay);
  assertNoReservedClaims(claims, policy);
  assertJsonClaims(claims, policy);
  assertClaimsSize(claims, policy);
  return claims;
}

/**
 * Validates a merge patch and folds it into a session's overlay, checking the effective claims over `base`
 * and the stored size of the new overlay. Session creation with initial claims is this with EMPTY_OVERLAY
 * (a null there deletes a claim the template gave). Mutates nothing; throws ReservedClaimError,
 * InvalidClaimsError, ClaimsTooLargeError or ClaimsOverlayTooLargeError.
 */
export function patchSessionOverlay(
  base: JsonObject,
  overlay: ClaimsOverlay,
  patch: JsonObject,
  policy: ClaimsPolicy,
  maxOverlayBytes: number = defaultMaxOverlayBytes(policy),
): PatchedOverlay {
  assertClaimsObject(patch);
  // Deleting a reserved claim (null value) is refused too: custom claims never touch those names.
  assertNoReservedClaims(patch, policy);
  assertJsonClaims(patch, policy);
  const next = composeOverlays(overlay, overlayFromPatch(patch));
  const claims = effectiveClaims(base, next, policy);
  const size = overlayByteSize(next);
  if (size > maxOverlayBytes) throw new ClaimsOverlayTooLargeError(size, maxOverlayBytes);
  return { overlay: next, claims };
}
