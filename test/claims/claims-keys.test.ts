import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, validateInitialClaims } from "../../src/claims/index.js";
import { ClaimsTooLargeError, InvalidClaimsError, ReservedClaimError } from "../../src/errors.js";
import { expectClaimsError, SECRET } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;

describe("unusual keys and values are data", () => {
  it("stores the empty key", () => {
    expect(applyClaimsPatch({}, { "": SECRET }, policy)).toStrictEqual({ "": SECRET });
  });

  it("merges into and deletes the empty key", () => {
    expect(applyClaimsPatch({ "": { a: 1 } }, { "": { b: 2 } }, policy)).toStrictEqual({ "": { a: 1, b: 2 } });
    expect(applyClaimsPatch({ "": 1, k: 1 }, { "": null }, policy)).toStrictEqual({ k: 1 });
  });

  const table: ReadonlyArray<[string, JsonObject]> = [
    ["Cyrillic", { ключ: "значение" }],
    ["CJK", { 鍵: "値", nested: { 名前: ["太郎", "花子"] } }],
    ["emoji", { "😀": "🎉", "👩‍👩‍👧": { "🔑": "🗝️" } }],
    ["accents and combining marks", { é: "e\u0301", café: "naïve" }],
    ["right-to-left", { مفتاح: "قيمة" }],
    ["control and escape characters", { "tab\tnew\nline": 'quote" back\\slash', "\u0000": "\u0000" }],
    ["lone surrogates", { "\uD800": "\uDFFF" }],
    ["whitespace keys", { " ": " ", "\u00a0": "\u2003" }],
  ];

  it.each(table)("accepts %s keys and values", (_label, claims) => {
    expect(applyClaimsPatch({}, claims, policy)).toStrictEqual(claims);
    expect(validateInitialClaims(claims, policy)).toStrictEqual(claims);
  });

  it.each(table)("deletes %s keys with null", (_label, claims) => {
    const patch = Object.fromEntries(Object.keys(claims).map((key) => [key, null]));
    expect(applyClaimsPatch(claims, patch, policy)).toStrictEqual({});
  });

  it("accepts a 1,000-character key within the size limit", () => {
    const key = "k".repeat(1000);
    expect(applyClaimsPatch({}, { [key]: 1 }, policy)).toStrictEqual({ [key]: 1 });
  });
});

describe("very long keys keep error messages short", () => {
  const longKey = `${"k".repeat(9_990)}-tail-mark`;

  it("a 10,000-character key is over the size limit, with a short message", () => {
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [longKey]: 1 }, policy),
      ClaimsTooLargeError,
      "CLAIMS_TOO_LARGE",
      [SECRET, "kkkkkkkkkk"],
    );
    expect(err.size).toBe(Buffer.byteLength(JSON.stringify({ [longKey]: 1 }), "utf8"));
    expect(err.message.length).toBeLessThan(100);
  });

  it("a 10,000-character key holding NaN names a truncated path", () => {
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [longKey]: Number.NaN }, policy),
      InvalidClaimsError,
      "INVALID_CLAIMS",
      [SECRET, "NaN", "tail-mark"],
    );
    expect(err.message.length).toBeLessThan(300);
    expect(err.metadata["path"]?.length).toBeLessThanOrEqual(201);
    expect(err.metadata["path"]?.startsWith("/kkkk")).toBe(true);
  });

  it("a 10,000-character key too deep names a truncated path", () => {
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [longKey]: { a: {} } }, { ...policy, maxDepth: 2 }),
      InvalidClaimsError,
      "INVALID_CLAIMS",
      ["tail-mark"],
    );
    expect(err.message.length).toBeLessThan(300);
  });

  it("a 10,000-character reserved key is reported truncated", () => {
    const reservedKey = `${policy.namespace}${longKey}`;
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [reservedKey]: SECRET }, policy),
      ReservedClaimError,
      "RESERVED_CLAIM",
      [SECRET, "tail-mark"],
    );
    expect(err.message.length).toBeLessThan(300);
    expect(err.metadata["claim"]?.startsWith(policy.namespace)).toBe(true);
    expect(err.metadata["claim"]?.length).toBeLessThanOrEqual(201);
  });

  it("truncation never splits a surrogate pair", () => {
    const emojiKey = "😀".repeat(5_000);
    const err = expectClaimsError(
      () => applyClaimsPatch({}, { [emojiKey]: Number.NaN }, policy),
      InvalidClaimsError,
      "INVALID_CLAIMS",
      ["NaN"],
    );
    expect(err.metadata["path"]).toMatch(/^\/(😀)+…$/u);
  });
});
