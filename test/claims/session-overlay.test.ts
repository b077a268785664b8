import { describe, expect, it } from "vitest";
import type { ClaimsOverlay, JsonObject } from "../../src/claims/index.js";
import {
  applyOverlay,
  DEFAULT_CLAIMS_POLICY,
  defaultMaxOverlayBytes,
  EMPTY_OVERLAY,
  effectiveClaims,
  overlayByteSize,
  overlayFromPatch,
  overlaySetPaths,
  overlayToJson,
  patchSessionOverlay,
} from "../../src/claims/index.js";
import {
  ClaimsOverlayTooLargeError,
  ClaimsTooLargeError,
  InvalidClaimsError,
  ReservedClaimError,
} from "../../src/errors.js";
import { deepFreeze, expectClaimsError, nestedObject, SECRET } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;

/** Claims of exactly `bytes` UTF-8 bytes once serialized: {"p":"xxx..."} (8 bytes of syntax). */
function claimsOfSize(bytes: number, key = "p"): JsonObject {
  return { [key]: "x".repeat(bytes - 7 - key.length) };
}

describe("effectiveClaims", () => {
  it("applies the overlay to the base", () => {
    expect(effectiveClaims({ a: 1, b: { c: 1 } }, overlayFromPatch({ a: null, b: { d: 2 } }), policy)).toStrictEqual({
      b: { c: 1, d: 2 },
    });
  });

  it("accepts effective claims of exactly policy.maxBytes and refuses one byte more", () => {
    expect(effectiveClaims(claimsOfSize(4096), EMPTY_OVERLAY, policy)).toStrictEqual(claimsOfSize(4096));
    const err = expectClaimsError(
      () => effectiveClaims(claimsOfSize(4000), overlayFromPatch({ q: "y".repeat(90) }), policy),
      ClaimsTooLargeError,
      "CLAIMS_TOO_LARGE",
    );
    expect(err.metadata).toStrictEqual({ size: "4097", limit: "4096" });
  });

  it("refuses a template or metadata change that would push a live session over the limit", () => {
    // The session set x; billing grows the template output so that base + x no longer fits.
    const overlay = overlayFromPatch({ x: "y".repeat(100) });
    expect(() => effectiveClaims(claimsOfSize(3000), overlay, policy)).not.toThrow();
    expectClaimsError(
      () => effectiveClaims(claimsOfSize(4000), overlay, policy),
      ClaimsTooLargeError,
      "CLAIMS_TOO_LARGE",
    );
  });

  it("refuses claims nested deeper than the policy (a template bringing in deep metadata)", () => {
    const base = { m: nestedObject(policy.maxDepth) };
    expectClaimsError(() => effectiveClaims(base, EMPTY_OVERLAY, policy), InvalidClaimsError, "INVALID_CLAIMS");
  });

  it("refuses a base carrying a reserved top-level claim", () => {
    expectClaimsError(
      () => effectiveClaims({ iss: SECRET }, EMPTY_OVERLAY, policy),
      ReservedClaimError,
      "RESERVED_CLAIM",
    );
  });
});

describe("patchSessionOverlay", () => {
  const base = deepFreeze<JsonObject>({ plan: "pro", org: { id: 1, tier: "gold" } });

  it("folds the patch into the overlay and returns the effective claims", () => {
    const first = patchSessionOverlay(base, EMPTY_OVERLAY, { org: { tier: null }, x: 1 }, policy);
    expect(first.claims).toStrictEqual({ plan: "pro", org: { id: 1 }, x: 1 });
    const second = patchSessionOverlay(base, first.overlay, { org: null }, policy);
    const third = patchSessionOverlay(base, second.overlay, { org: { name: "n" } }, policy);
    expect(third.claims).toStrictEqual({ plan: "pro", x: 1, org: { name: "n" } });
    expect(overlayToJson(third.overlay)).toStrictEqual({ org: [{ name: "n" }], x: [1] });
  });

  it("at session creation (from EMPTY_OVERLAY) a null deletes a claim the template gave", () => {
    expect(patchSessionOverlay(base, EMPTY_OVERLAY, { plan: null, k: 1 }, policy).claims).toStrictEqual({
      org: { id: 1, tier: "gold" },
      k: 1,
    });
  });

  it.each([
    ["a reserved claim set", { iss: SECRET }, ReservedClaimError, "RESERVED_CLAIM"],
    ["a reserved claim deleted", { exp: null }, ReservedClaimError, "RESERVED_CLAIM"],
    ["a namespaced claim", { "https://tessera.dev/x": SECRET }, ReservedClaimError, "RESERVED_NAMESPACE_CLAIM"],
    ["a non-finite number", { a: Number.NaN }, InvalidClaimsError, "INVALID_CLAIMS"],
    ["too deep a patch", nestedObject(33), InvalidClaimsError, "INVALID_CLAIMS"],
    ["effective claims over the limit", { big: SECRET.repeat(300) }, ClaimsTooLargeError, "CLAIMS_TOO_LARGE"],
  ] as const)("refuses %s and mutates nothing", (_label, patch, errorClass, reason) => {
    const overlay = deepFreezeOverlay(overlayFromPatch({ keep: 1 }));
    const stored = overlayToJson(overlay);
    expectClaimsError(() => patchSessionOverlay(base, overlay, patch as JsonObject, policy), errorClass, reason);
    expect(overlayToJson(overlay)).toStrictEqual(stored);
  });

  it("refuses a patch that is not an object", () => {
    expectClaimsError(
      () => patchSessionOverlay(base, EMPTY_OVERLAY, [1] as unknown as JsonObject, policy),
      InvalidClaimsError,
      "INVALID_CLAIMS",
    );
  });

  it("bounds the stored overlay: deletions of absent keys accumulate until CLAIMS_OVERLAY_TOO_LARGE", () => {
    // Each patch deletes a key the base lacks: the claims stay tiny, but the overlay must remember every delete.
    let overlay: ClaimsOverlay = EMPTY_OVERLAY;
    let refused: unknown;
    let accepted = 0;
    for (let index = 0; index < 2000 && refused === undefined; index += 1) {
      try {
        overlay = patchSessionOverlay(base, overlay, { [`gone_${index}`]: null }, policy).overlay;
        accepted += 1;
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(ClaimsOverlayTooLargeError);
    const err = refused as ClaimsOverlayTooLargeError;
    expect(err.reason).toBe("CLAIMS_OVERLAY_TOO_LARGE");
    expect(err.limit).toBe(defaultMaxOverlayBytes(policy));
    expect(err.limit).toBe(8192);
    expect(err.size).toBeGreaterThan(8192);
    expect(overlayByteSize(overlay)).toBeLessThanOrEqual(8192);
    expect(accepted).toBeGreaterThan(100);
  });

  it("takes a custom overlay limit, inclusive", () => {
    const exact = overlayByteSize(overlayFromPatch({ a: null }));
    expect(() => patchSessionOverlay({}, EMPTY_OVERLAY, { a: null }, policy, exact)).not.toThrow();
    const err = expectClaimsError(
      () => patchSessionOverlay({}, EMPTY_OVERLAY, { a: null }, policy, exact - 1),
      ClaimsOverlayTooLargeError,
      "CLAIMS_OVERLAY_TOO_LARGE",
    );
    expect(err.metadata).toStrictEqual({ size: String(exact), limit: String(exact - 1) });
  });

  it("a claim the caller set survives any later base: it is in the effective claims at its set path", () => {
    const { overlay } = patchSessionOverlay(base, EMPTY_OVERLAY, { org: { tier: "set-by-session" }, x: [1] }, policy);
    expect(overlaySetPaths(overlay)).toStrictEqual(["/org/tier", "/x"]);
    for (const later of [{}, { org: 5 }, { org: { tier: "other" }, x: { y: 1 } }, { org: [1] }] as JsonObject[]) {
      const claims = applyOverlay(later, overlay);
      expect((claims["org"] as JsonObject)["tier"]).toBe("set-by-session");
      expect(claims["x"]).toStrictEqual([1]);
    }
  });
});

/** Freezes an overlay's nodes and values; a Map's entries cannot be frozen, so those are compared instead. */
function deepFreezeOverlay(overlay: ClaimsOverlay): ClaimsOverlay {
  for (const node of overlay.children.values()) deepFreeze(node);
  return deepFreeze(overlay);
}
