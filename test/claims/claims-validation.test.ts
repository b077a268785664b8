import { describe, expect, it } from "vitest";
import type { ClaimsPolicy, JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, mergePatch, validateInitialClaims } from "../../src/claims/index.js";
import { InvalidClaimsError } from "../../src/errors.js";
import { deepFreeze, expectClaimsError, nestedArray, nestedObject, SECRET } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;
const asClaims = (value: unknown): JsonObject => value as JsonObject;

function expectInvalid(fn: () => unknown, forbidden: readonly string[] = [SECRET]): InvalidClaimsError {
  const err = expectClaimsError(fn, InvalidClaimsError, "INVALID_CLAIMS", forbidden);
  expect(err.kind).toBe("invalid_argument");
  expect(err.message.length).toBeLessThan(400);
  return err;
}

describe("non-finite numbers", () => {
  const NON_FINITE = [
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ] as const;
  const places = [
    { where: "at the top level", build: (n: number) => ({ ok: SECRET, bad: n }), path: "/bad" },
    { where: "nested in an object", build: (n: number) => ({ outer: { ok: SECRET, inner: n } }), path: "/outer/inner" },
    { where: "in an array", build: (n: number) => ({ list: [1, SECRET, n] }), path: "/list/2" },
    { where: "in an object in an array", build: (n: number) => ({ list: [{ bad: n }] }), path: "/list/0/bad" },
    { where: "in an array in an array", build: (n: number) => ({ grid: [[0], [1, n]] }), path: "/grid/1/1" },
  ];
  const table = NON_FINITE.flatMap(([label, n]) => places.map((place) => ({ label, n, ...place })));
  const forbidden = [SECRET, "NaN", "Infinity"];

  it.each(table)("rejects $label $where, naming the path $path but not the value", ({ n, build, path }) => {
    const err = expectInvalid(() => applyClaimsPatch({}, asClaims(build(n)), policy), forbidden);
    expect(err.message).toContain(JSON.stringify(path));
    expect(err.metadata).toStrictEqual({ path });
  });

  it.each(table)("rejects $label $where at creation", ({ n, build }) => {
    expectInvalid(() => validateInitialClaims(asClaims(build(n)), policy), forbidden);
  });

  it.each(NON_FINITE)("rejects %s already stored in the current claims", (_label, n) => {
    expectInvalid(() => applyClaimsPatch(asClaims({ stored: n }), { ok: 1 }, policy), forbidden);
  });

  it("escapes / and ~ in the key path (RFC 6901)", () => {
    const err = expectInvalid(() => applyClaimsPatch({}, asClaims({ "a/b": { "c~d": Number.NaN } }), policy));
    expect(err.metadata).toStrictEqual({ path: "/a~1b/c~0d" });
  });

  it.each([0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, 3.5])("accepts the finite number %s", (n) => {
    expect(applyClaimsPatch({}, { n }, policy)).toStrictEqual({ n });
  });
});

describe("non-JSON values", () => {
  class Custom {
    readonly v = SECRET;
  }
  const values: ReadonlyArray<[string, () => unknown]> = [
    ["undefined", () => undefined],
    ["a function", () => () => SECRET],
    ["a bigint", () => 10n],
    ["a symbol", () => Symbol(SECRET)],
    ["a Date", () => new Date(0)],
    ["a Map", () => new Map([[SECRET, SECRET]])],
    ["a class instance", () => new Custom()],
    ["a boxed string", () => Object(SECRET) as unknown],
  ];
  const table = values.flatMap(([label, make]) => [
    { label, where: "at the top level", build: () => ({ ok: SECRET, bad: make() }) },
    { label, where: "nested", build: () => ({ outer: { bad: make() } }) },
    { label, where: "in an array", build: () => ({ list: [SECRET, make()] }) },
  ]);

  it.each(table)("rejects $label $where", ({ build }) => {
    expectInvalid(() => applyClaimsPatch({}, asClaims(build()), policy), [SECRET, "10"]);
  });

  it("rejects a hole in a sparse array", () => {
    const err = expectInvalid(() => applyClaimsPatch({}, asClaims({ list: [1, , 3] }), policy));
    expect(err.metadata).toStrictEqual({ path: "/list/1" });
  });

  it("accepts an object with a null prototype", () => {
    const patch = Object.assign(Object.create(null) as JsonObject, { a: 1 });
    expect(applyClaimsPatch({}, patch, policy)).toStrictEqual({ a: 1 });
  });
});

describe("patch must be a JSON object", () => {
  const table: ReadonlyArray<[string, unknown]> = [
    ["null", null],
    ["an array", [SECRET]],
    ["an empty array", []],
    ["a string", SECRET],
    ["a number", 42],
    ["a boolean", true],
    ["undefined", undefined],
    ["a Date", new Date(0)],
  ];

  it.each(table)("rejects %s as a patch", (_label, patch) => {
    expectInvalid(() => applyClaimsPatch({ a: 1 }, asClaims(patch), policy), [SECRET, "42"]);
  });

  it.each(table)("rejects %s as initial claims", (_label, claims) => {
    expectInvalid(() => validateInitialClaims(asClaims(claims), policy), [SECRET, "42"]);
  });

  it("accepts an empty object", () => {
    expect(applyClaimsPatch({ a: 1 }, {}, policy)).toStrictEqual({ a: 1 });
  });
});

describe("depth", () => {
  const builders = [
    { shape: "objects", build: nestedObject },
    { shape: "arrays", build: nestedArray },
  ];

  it.each(builders)("accepts $shape nested exactly maxDepth (32) levels", ({ build }) => {
    const claims = build(32);
    expect(applyClaimsPatch({}, claims, policy)).toStrictEqual(claims);
  });

  it.each(builders)("rejects $shape nested maxDepth + 1 (33) levels", ({ build }) => {
    const err = expectInvalid(() => applyClaimsPatch({}, build(33), policy));
    expect(err.metadata).toStrictEqual({ max_depth: "32" });
  });

  it.each(builders)("rejects $shape nested 10,000 levels without overflowing the stack", ({ build }) => {
    const err = expectInvalid(() => applyClaimsPatch({}, build(10_000), policy));
    expect(err.metadata).toStrictEqual({ max_depth: "32" });
  });

  it.each(builders)("rejects $shape nested 10,000 levels at creation", ({ build }) => {
    expectInvalid(() => validateInitialClaims(build(10_000), policy));
  });

  it("rejects a 10,000-level object already stored in the current claims", () => {
    expectInvalid(() => applyClaimsPatch(nestedObject(10_000), { ok: 1 }, policy));
  });

  it("mergePatch itself handles 10,000-level inputs without recursion", () => {
    const result = mergePatch(nestedObject(10_000), nestedObject(10_000));
    let depth = 0;
    for (let at: unknown = result; typeof at === "object" && at !== null; at = (at as JsonObject)["a"]) depth += 1;
    expect(depth).toBe(10_000);
  });

  it("counts mixed objects and arrays", () => {
    const limited: ClaimsPolicy = { ...policy, maxDepth: 4 };
    expect(applyClaimsPatch({}, { a: [{ b: [1] }] }, limited)).toStrictEqual({ a: [{ b: [1] }] });
    const err = expectInvalid(() => applyClaimsPatch({}, { a: [{ b: [[1]] }] }, limited));
    expect(err.metadata).toStrictEqual({ max_depth: "4" });
    expect(err.message).toContain('"/a/0/b/0"');
  });

  it("scalars and empty containers at the deepest level do not add depth", () => {
    const limited: ClaimsPolicy = { ...policy, maxDepth: 2 };
    expect(applyClaimsPatch({}, { a: { b: 1, c: "s", d: true } }, limited)).toStrictEqual({
      a: { b: 1, c: "s", d: true },
    });
    expectInvalid(() => applyClaimsPatch({}, { a: { b: {} } }, limited));
    expectInvalid(() => applyClaimsPatch({}, { a: { b: [] } }, limited));
  });

  it("checks the merged result's depth", () => {
    const limited: ClaimsPolicy = { ...policy, maxDepth: 3 };
    const current = deepFreeze<JsonObject>({ a: { b: { c: 1 } } });
    expect(applyClaimsPatch(current, { a: { b: { d: 2 } } }, limited)).toStrictEqual({ a: { b: { c: 1, d: 2 } } });
    expectInvalid(() => applyClaimsPatch(current, { a: { b: { c: { d: 1 } } } }, limited));
    expect(current).toStrictEqual({ a: { b: { c: 1 } } });
  });
});
