import { describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, mergePatch } from "../../src/claims/index.js";
import { InvalidClaimsError } from "../../src/errors.js";
import { expectClaimsError } from "./helpers.js";

interface Case {
  readonly name: string;
  readonly original: JsonValue;
  readonly patch: JsonValue;
  readonly result: JsonValue;
}

// RFC 7396 Appendix A, all fifteen cases, in order.
const appendixA: readonly Case[] = [
  { name: "A.1 replaces a value", original: { a: "b" }, patch: { a: "c" }, result: { a: "c" } },
  { name: "A.2 adds a member", original: { a: "b" }, patch: { b: "c" }, result: { a: "b", b: "c" } },
  { name: "A.3 removes the only member", original: { a: "b" }, patch: { a: null }, result: {} },
  { name: "A.4 removes one member", original: { a: "b", b: "c" }, patch: { a: null }, result: { b: "c" } },
  { name: "A.5 scalar replaces array", original: { a: ["b"] }, patch: { a: "c" }, result: { a: "c" } },
  { name: "A.6 array replaces scalar", original: { a: "c" }, patch: { a: ["b"] }, result: { a: ["b"] } },
  {
    name: "A.7 merges nested objects and deletes a nested absent member",
    original: { a: { b: "c" } },
    patch: { a: { b: "d", c: null } },
    result: { a: { b: "d" } },
  },
  { name: "A.8 array replaces array of objects", original: { a: [{ b: "c" }] }, patch: { a: [1] }, result: { a: [1] } },
  { name: "A.9 array replaces array", original: ["a", "b"], patch: ["c", "d"], result: ["c", "d"] },
  { name: "A.10 array replaces object", original: { a: "b" }, patch: ["c"], result: ["c"] },
  { name: "A.11 null patch yields null", original: { a: "foo" }, patch: null, result: null },
  { name: "A.12 string patch yields string", original: { a: "foo" }, patch: "bar", result: "bar" },
  {
    name: "A.13 keeps a null already in the target",
    original: { e: null },
    patch: { a: 1 },
    result: { e: null, a: 1 },
  },
  {
    name: "A.14 object replaces array, dropping its nulls",
    original: [1, 2],
    patch: { a: "b", c: null },
    result: { a: "b" },
  },
  {
    name: "A.15 nested nulls under an absent member are dropped",
    original: {},
    patch: { a: { bb: { ccc: null } } },
    result: { a: { bb: {} } },
  },
];

const isObject = (value: JsonValue): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

describe("RFC 7396 Appendix A: object original and object patch, at the top level", () => {
  const cases = appendixA.filter((c) => isObject(c.original) && isObject(c.patch));

  it("covers the ten object/object cases", () => {
    expect(cases.map((c) => c.name.split(" ")[0])).toStrictEqual([
      "A.1",
      "A.2",
      "A.3",
      "A.4",
      "A.5",
      "A.6",
      "A.7",
      "A.8",
      "A.13",
      "A.15",
    ]);
  });

  it.each(cases)("$name (mergePatch)", ({ original, patch, result }) => {
    expect(mergePatch(original as JsonObject, patch as JsonObject)).toStrictEqual(result);
  });

  it.each(cases)("$name (applyClaimsPatch)", ({ original, patch, result }) => {
    expect(applyClaimsPatch(original as JsonObject, patch as JsonObject, DEFAULT_CLAIMS_POLICY)).toStrictEqual(result);
  });
});

describe("RFC 7396 Appendix A: every case one level down, under the key x", () => {
  // Under a key, a null patch means "delete x" rather than "the document becomes null" (A.11).
  const expected = (c: Case): JsonObject => (c.result === null ? {} : { x: c.result });

  it.each(appendixA)("$name", (c) => {
    expect(mergePatch({ x: c.original }, { x: c.patch })).toStrictEqual(expected(c));
  });
});

describe("RFC 7396 Appendix A: non-object patches are refused at the top level", () => {
  const cases = appendixA.filter((c) => !isObject(c.patch));

  it.each(cases)("$name", ({ original, patch }) => {
    expectClaimsError(
      () => applyClaimsPatch(original as JsonObject, patch as JsonObject, DEFAULT_CLAIMS_POLICY),
      InvalidClaimsError,
      "INVALID_CLAIMS",
      ["bar", '"c"', '"d"'],
    );
  });
});
