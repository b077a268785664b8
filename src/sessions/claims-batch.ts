/**
 * A batch of claims writes to one session, applied in arrival order to the state as read, as if each call
 * had been served alone one after another: each is validated on the state the calls before it left (its
 * expected_claims_version against that version), and one that fails gets its own error and is left out, as
 * if never sent. Pure: no I/O, no clock.
 */
import { type ClaimsOverlay, type ClaimsPolicy, type JsonObject, patchSessionOverlay } from "../claims/index.js";
import { ClaimsVersionMismatchError } from "../errors.js";
import type { AuthorizationCheck, AuthorizationVerdict } from "../rbac/rbac-policy.js";
import type { Outcome } from "./group-commit.js";

/** One call's claims write, as queued for a session. */
export interface ClaimsCall {
  readonly patch: JsonObject | undefined;
  readonly expectedClaimsVersion: bigint | undefined;
  /** Extend the session to expire this many minutes after this access; undefined leaves the expiry. */
  readonly durationMinutes: number | undefined;
  readonly check: AuthorizationCheck | undefined;
}

/** The state one call leaves, which its caller is answered with. */
export interface CallState {
  readonly overlay: ClaimsOverlay;
  readonly claimsVersion: bigint;
  /** The effective claims when this call patched them (undefined: unchanged by this call). */
  readonly claims: JsonObject | undefined;
  /** The latest extension in force after this call within the batch; undefined: the expiry as read. */
  readonly extensionMinutes: number | undefined;
  readonly verdict: AuthorizationVerdict | undefined;
}

/** A batch's outcome per call, and the state to write. */
export interface ClaimsBatchPlan {
  readonly outcomes: ReadonlyArray<Outcome<CallState>>;
  /** Whether any call succeeded (otherwise nothing is written). */
  readonly anyOk: boolean;
  readonly overlay: ClaimsOverlay;
  readonly claimsVersion: bigint;
  /** The last extension among the calls that succeeded; undefined when none extends. */
  readonly extensionMinutes: number | undefined;
  /** Whether a call's answer holds the expiry as read while a later one extends it (so the write must check it). */
  readonly answersReadExpiry: boolean;
}

/** What a batch is decided with: all fixed for the batch (one read, one base). */
export interface ClaimsBatchContext {
  /** The template's output for the session's user at the version read. */
  readonly base: JsonObject;
  readonly claimsPolicy: ClaimsPolicy;
  /** The verdict of a check on the session as read; throws PermissionDeniedError when denied. */
  readonly decide: (check: AuthorizationCheck) => AuthorizationVerdict;
  /** Throws when the session's JWT with these claims at this version would be too long. */
  readonly checkJwt: (claims: JsonObject, claimsVersion: bigint) => void;
}

/** Applies `calls` in order to the session's `overlay` at `claimsVersion`. */
export function planClaimsBatch(
  read: { readonly overlay: ClaimsOverlay; readonly claimsVersion: bigint },
  calls: readonly ClaimsCall[],
  context: ClaimsBatchContext,
): ClaimsBatchPlan {
  let { overlay, claimsVersion } = read;
  let extensionMinutes: number | undefined;
  let anyOk = false;
  let answersReadExpiry = false;
  const outcomes = calls.map((call): Outcome<CallState> => {
    try {
      const verdict = call.check === undefined ? undefined : context.decide(call.check);
      if (call.expectedClaimsVersion !== undefined && call.expectedClaimsVersion !== claimsVersion) {
        throw new ClaimsVersionMismatchError(call.expectedClaimsVersion, claimsVersion);
      }
      let claims: JsonObject | undefined;
      if (call.patch !== undefined) {
        const patched = patchSessionOverlay(context.base, overlay, call.patch, context.claimsPolicy);
        context.checkJwt(patched.claims, claimsVersion + 1n);
        overlay = patched.overlay;
        claimsVersion += 1n;
        claims = patched.claims;
      }
      anyOk = true;
      if (call.durationMinutes !== undefined) extensionMinutes = call.durationMinutes;
      else if (extensionMinutes === undefined) answersReadExpiry = true;
      return { ok: true, value: { overlay, claimsVersion, claims, extensionMinutes, verdict } };
    } catch (error) {
      return { ok: false, error };
    }
  });
  return {
    outcomes,
    anyOk,
    overlay,
    claimsVersion,
    extensionMinutes,
    answersReadExpiry: answersReadExpiry && extensionMinutes !== undefined,
  };
}
