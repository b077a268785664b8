import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { ClaimsPolicy, JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, validateInitialClaims } from "../../src/claims/index.js";
import { ClaimsTooLargeError } from "../../src/errors.js";
import { deepFreeze, expectClaimsError } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;
const bytes = (claims: JsonObject): number => Buffer.byteLength(JSON.stringify(claims), "utf8");
// {"k":""} is 8 bytes of JSON around the string.
const OVERHEAD = 8;

function expectTooLarge(fn: () => unknown, size: number, limit: number, forbidden: readonly string[]): void {
  const err = expectClaimsError(fn, ClaimsTooLargeError, "CLAIMS_TOO_LARGE", forbidden);
  expect(err.size).toBe(size);
  expect(err.limit).toBe(limit);
  expect(err.metadata).toStrictEqual({ size: String(size), limit: String(limit) });
  expect(err.message).toContain(`${size} bytes`);
  expect(err.message).toContain(`${limit} bytes`);
}

interface Payload {
  readonly name: string;
  readonly unit: string;
  readonly unitBytes: number;
}

const payloads: readonly Payload[] = [
  { name: "ASCII", unit: "x", unitBytes: 1 },
  { name: "two-byte é", unit: "é", unitBytes: 2 },
  { name: "three-byte €", unit: "€", unitBytes: 3 },
  { name: "four-byte emoji", unit: "😀", unitBytes: 4 },
];

/** {"k": s} of exactly `total` UTF-8 bytes, using as many `unit`s as fit and ASCII "a" for the rest. */
function claimsOfBytes(total: number, { unit, unitBytes }: Payload): JsonObject {
  const room = total - OVERHEAD;
  const count = Math.floor(room / unitBytes);
  return { k: unit.repeat(count) + "a".repeat(room - count * unitBytes) };
}

describe("size limit", () => {
  it.each(payloads)("accepts exactly 4096 bytes of $name", (payload) => {
    const claims = claimsOfBytes(4096, payload);
    expect(bytes(claims)).toBe(4096);
    expect(applyClaimsPatch({}, claims, policy)).toStrictEqual(claims);
    expect(validateInitialClaims(claims, policy)).toStrictEqual(claims);
  });

  it.each(payloads)("rejects 4097 bytes of $name", (payload) => {
    const claims = claimsOfBytes(4097, payload);
    expect(bytes(claims)).toBe(4097);
    const value = String(claims["k"]);
    expectTooLarge(() => applyClaimsPatch({}, claims, policy), 4097, 4096, [value.slice(0, 16), value.slice(-16)]);
  });

  it("counts UTF-8 bytes, not UTF-16 code units", () => {
    const claims: JsonObject = { k: "é".repeat(2045) };
    expect(JSON.stringify(claims).length).toBeLessThan(4096);
    expectTooLarge(() => applyClaimsPatch({}, claims, policy), 4098, 4096, ["éééé"]);
  });

  it("counts multi-byte characters in keys", () => {
    const claims: JsonObject = { ["€".repeat(1400)]: 1 };
    expect(JSON.stringify(claims).length).toBeLessThan(4096);
    expectTooLarge(() => applyClaimsPatch({}, claims, policy), bytes(claims), 4096, []);
  });

  it("checks the merged result, not the patch alone", () => {
    const current = deepFreeze<JsonObject>({ a: "s3cret".repeat(500) });
    const patch: JsonObject = { b: "t0ken".repeat(250) };
    expect(bytes(current)).toBeLessThan(4096);
    expect(bytes(patch)).toBeLessThan(4096);
    const merged = { ...current, ...patch };
    expectTooLarge(() => applyClaimsPatch(current, patch, policy), bytes(merged), 4096, ["s3cret", "t0ken"]);
    expect(current).toStrictEqual({ a: "s3cret".repeat(500) });
  });

  it("accepts a patch that deletes keys so the result fits, even when the patch itself is over the limit", () => {
    const current: JsonObject = {};
    for (let i = 0; i < 30; i += 1) current[`old-claim-${String(i).padStart(3, "0")}-${"k".repeat(80)}`] = i;
    expect(bytes(current)).toBeLessThan(4096);
    const patch: JsonObject = { fresh: "v".repeat(2000) };
    for (const key of Object.keys(current)) patch[key] = null;
    for (let i = 0; i < 20; i += 1) patch[`never-existed-${i}-${"n".repeat(100)}`] = null;
    expect(bytes(patch)).toBeGreaterThan(4096);
    expect(applyClaimsPatch(current, patch, policy)).toStrictEqual({ fresh: "v".repeat(2000) });
  });

  it("accepts a patch that replaces a large claim with a smaller one", () => {
    const current: JsonObject = { big: "b".repeat(4000) };
    const patch: JsonObject = { big: null, other: "o".repeat(3000) };
    expect(bytes(current) + bytes(patch)).toBeGreaterThan(4096);
    expect(applyClaimsPatch(current, patch, policy)).toStrictEqual({ other: "o".repeat(3000) });
  });

  it("rejects a patch that would push claims one byte over the limit", () => {
    const current = claimsOfBytes(4096 - 6, payloads[0]!);
    // ,"z":1 adds 6 bytes: fits; ,"z":12 adds 7: one over.
    expect(bytes(applyClaimsPatch(current, { z: 1 }, policy))).toBe(4096);
    expectTooLarge(() => applyClaimsPatch(current, { z: 12 }, policy), 4097, 4096, []);
  });

  it("honours a custom maxBytes", () => {
    const small: ClaimsPolicy = { ...policy, maxBytes: 16 };
    expect(applyClaimsPatch({}, { k: "12345678" }, small)).toStrictEqual({ k: "12345678" });
    expectTooLarge(() => applyClaimsPatch({}, { k: "123456789" }, small), 17, 16, ["123456789"]);
  });

  it("counts an empty claims object as 2 bytes", () => {
    const tiny: ClaimsPolicy = { ...policy, maxBytes: 2 };
    expect(applyClaimsPatch({ a: 1 }, { a: null }, tiny)).toStrictEqual({});
  });
});
