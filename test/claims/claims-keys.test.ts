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
    ["control and escape characters", { "tab\tnew\nline": 'quote" back\\slash', "\u0001\u001f": "\u0001\u007f" }],
    ["surrogate pairs", { "\uD83D\uDE00": "\uD834\uDD1E" }],
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

describe("text PostgreSQL's jsonb and UTF-8 cannot carry is refused, naming where and never what", () => {
  // U+0000 is refused by jsonb; a lone surrogate has no UTF-8 encoding.
  const BAD = [
    ["NUL", `a\u0000${SECRET}`],
    ["a lone high surrogate", `\uD800${SECRET}`],
    ["a lone low surrogate", `${SECRET}\uDC00`],
    ["a reversed pair", `\uDE00\uD83D${SECRET}`],
  ] as const;
  const table = BAD.flatMap(([label, bad]) =>
    (
      [
        ["a top-level value", { k: bad }, "/k", 'custom claim at "/k"'],
        ["a nested value", { o: { p: [1, bad] } }, "/o/p/1", 'custom claim at "/o/p/1"'],
        ["a top-level key", { [bad]: 1 }, "", "a top-level custom claim name"],
        ["a nested key", { o: { p: { [bad]: true } } }, "/o/p", 'a key in "/o/p"'],
        ["a key deleted with null", { [bad]: null }, "", "a top-level custom claim name"],
      ] as const
    ).map(([where, claims, path, text]) => ({ label, where, claims, path, text, bad })),
  );

  it.each(table)("$label in $where, in a patch and at creation", ({ claims, path, text, bad }) => {
    for (const attempt of [
      () => applyClaimsPatch({ keep: 1 }, claims as JsonObject, policy),
      () => validateInitialClaims(claims as JsonObject, policy),
    ]) {
      const err = expectClaimsError(attempt, InvalidClaimsError, "INVALID_CLAIMS", [SECRET, bad]);
      expect(err.message).toBe(`${text} holds a NUL character (U+0000) or a lone surrogate`);
      expect(err.metadata).toStrictEqual({ path });
      expect(err.message.isWellFormed() && !err.message.includes("\u0000")).toBe(true);
    }
  });

  it("refuses such a key before naming it as reserved", () => {
    const key = `${policy.namespace}\u0000`;
    expectClaimsError(() => applyClaimsPatch({}, { [key]: 1 }, policy), InvalidClaimsError, "INVALID_CLAIMS", [key]);
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
      "RESERVED_NAMESPACE_CLAIM",
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
