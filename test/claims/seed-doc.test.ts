import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, validateInitialClaims } from "../../src/claims/index.js";
import { ReservedClaimError } from "../../src/errors.js";
import { expectClaimsError } from "./helpers.js";

// Examples from Stytch's "Adding custom claims to sessions" (shared/seed/custom-claims.txt).
const policy = DEFAULT_CLAIMS_POLICY;

describe("seed document: adding or updating claims", () => {
  it("sets key_1 and key_2 on an initially empty claims object", () => {
    expect(applyClaimsPatch({}, { key_1: 1, key_2: 2 }, policy)).toStrictEqual({ key_1: 1, key_2: 2 });
  });

  it("sets key_1 and key_2 at session creation", () => {
    expect(validateInitialClaims({ key_1: 1, key_2: 2 }, policy)).toStrictEqual({ key_1: 1, key_2: 2 });
  });

  it("updates key_1 to 9 and keeps key_2", () => {
    expect(applyClaimsPatch({ key_1: 1, key_2: 2 }, { key_1: 9 }, policy)).toStrictEqual({ key_1: 9, key_2: 2 });
  });
});

describe("seed document: deleting claims", () => {
  it("deletes key_1 with a null value", () => {
    expect(applyClaimsPatch({ key_1: 1, key_2: 2 }, { key_1: null }, policy)).toStrictEqual({ key_2: 2 });
  });
});

describe("seed document: working with nested objects", () => {
  // The document does not show the start state; {"b": 2, "d": 4} is inferred: the patch deletes "b"
  // and the result keeps "d": 4, which the patch does not mention.
  const start: JsonObject = { b: 2, d: 4 };
  const afterFirst: JsonObject = { c: 3.5, d: 4, e: { nested1: "val1", nested2: "val2" } };

  it("deletes b, sets c to 3.5 and sets the nested object e (inferred start {b: 2, d: 4})", () => {
    const patch: JsonObject = { b: null, c: 3.5, e: { nested1: "val1", nested2: "val2" } };
    expect(applyClaimsPatch(start, patch, policy)).toStrictEqual(afterFirst);
  });

  it("deletes e.nested1 with nil/null and adds e.nested3, keeping e.nested2", () => {
    const patch: JsonObject = { e: { nested1: null, nested3: "val3" } };
    expect(applyClaimsPatch(afterFirst, patch, policy)).toStrictEqual({
      c: 3.5,
      d: 4,
      e: { nested2: "val2", nested3: "val3" },
    });
  });
});

describe("seed document: limitations", () => {
  it.each(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"])("rejects the reserved claim %s", (claim) => {
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [claim]: "s3cret-claim-value" }, policy),
      ReservedClaimError,
      "RESERVED_CLAIM",
    );
    expect(err.metadata).toStrictEqual({ claim });
  });

  it("rejects https://stytch.com/* claims when that is the policy namespace", () => {
    const stytch = { ...policy, namespace: "https://stytch.com/" };
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { "https://stytch.com/role": "s3cret-claim-value" }, stytch),
      ReservedClaimError,
      "RESERVED_NAMESPACE_CLAIM",
    );
    expect(err.metadata).toStrictEqual({ claim: "https://stytch.com/role" });
  });

  it("limits total custom claims to four kilobytes (4096 bytes) by default", () => {
    expect(policy.maxBytes).toBe(4096);
  });
});
