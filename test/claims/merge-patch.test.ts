import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, mergePatch } from "../../src/claims/index.js";
import { containersOf, deepFreeze } from "./helpers.js";

interface Case {
  readonly name: string;
  readonly target: JsonObject;
  readonly patch: JsonObject;
  readonly result: JsonObject;
}

const cases: readonly Case[] = [
  { name: "null deletes a present key", target: { a: 1, b: 2 }, patch: { a: null }, result: { b: 2 } },
  { name: "null for an absent key is a no-op", target: { a: 1 }, patch: { z: null }, result: { a: 1 } },
  { name: "null deletes a key holding an object", target: { a: { b: 1 }, c: 1 }, patch: { a: null }, result: { c: 1 } },
  { name: "null deletes a key holding an array", target: { a: [1, 2] }, patch: { a: null }, result: {} },
  {
    name: "null deletes a nested key",
    target: { a: { b: 1, c: 2 } },
    patch: { a: { b: null } },
    result: { a: { c: 2 } },
  },
  {
    name: "deleting the last nested key leaves {}",
    target: { a: { b: 1 } },
    patch: { a: { b: null } },
    result: { a: {} },
  },
  { name: "a non-null value sets a new key", target: {}, patch: { a: "x" }, result: { a: "x" } },
  { name: "a non-null value replaces a key", target: { a: "x" }, patch: { a: "y" }, result: { a: "y" } },
  {
    name: "false, 0 and empty string are values, not deletes",
    target: { a: 1, b: 1, c: 1 },
    patch: { a: false, b: 0, c: "" },
    result: { a: false, b: 0, c: "" },
  },
  { name: "an empty patch changes nothing", target: { a: { b: [1] } }, patch: {}, result: { a: { b: [1] } } },
  {
    name: "an empty object patch value keeps an object",
    target: { a: { b: 1 } },
    patch: { a: {} },
    result: { a: { b: 1 } },
  },
  {
    name: "an empty object patch value replaces a scalar with {}",
    target: { a: 1 },
    patch: { a: {} },
    result: { a: {} },
  },
  {
    name: "nested merge keeps untouched siblings",
    target: { a: { b: 1, c: { d: 1, e: 2 } }, f: 3 },
    patch: { a: { c: { d: 9 } } },
    result: { a: { b: 1, c: { d: 9, e: 2 } }, f: 3 },
  },
  {
    name: "nested merge three levels deep",
    target: { a: { b: { c: { d: 1 } } } },
    patch: { a: { b: { c: { e: 2 } } } },
    result: { a: { b: { c: { d: 1, e: 2 } } } },
  },
  { name: "object replaces a string", target: { a: "s" }, patch: { a: { b: 1 } }, result: { a: { b: 1 } } },
  { name: "object replaces a number", target: { a: 1 }, patch: { a: { b: 1 } }, result: { a: { b: 1 } } },
  { name: "object replaces a boolean", target: { a: true }, patch: { a: { b: 1 } }, result: { a: { b: 1 } } },
  { name: "object replaces a stored null", target: { a: null }, patch: { a: { b: 1 } }, result: { a: { b: 1 } } },
  { name: "object replaces an array", target: { a: [1, 2] }, patch: { a: { b: 1 } }, result: { a: { b: 1 } } },
  { name: "string replaces an object", target: { a: { b: 1 } }, patch: { a: "s" }, result: { a: "s" } },
  { name: "number replaces an object", target: { a: { b: 1 } }, patch: { a: 2 }, result: { a: 2 } },
  { name: "boolean replaces an object", target: { a: { b: 1 } }, patch: { a: false }, result: { a: false } },
  { name: "array replaces an object", target: { a: { b: 1 } }, patch: { a: [1] }, result: { a: [1] } },
  { name: "arrays replace whole, never merge", target: { a: [1, 2, 3] }, patch: { a: [9] }, result: { a: [9] } },
  { name: "an empty array replaces an array", target: { a: [1, 2] }, patch: { a: [] }, result: { a: [] } },
  {
    name: "arrays of objects replace whole",
    target: { a: [{ b: 1, c: 2 }] },
    patch: { a: [{ b: 9 }] },
    result: { a: [{ b: 9 }] },
  },
  {
    name: "null inside an array is kept as data",
    target: {},
    patch: { a: [null, 1, null] },
    result: { a: [null, 1, null] },
  },
  {
    name: "null inside an object inside an array is kept",
    target: {},
    patch: { a: [{ b: null }] },
    result: { a: [{ b: null }] },
  },
  {
    name: "nulls in a patch object landing on an absent key are dropped",
    target: {},
    patch: { a: { b: null, c: 1 } },
    result: { a: { c: 1 } },
  },
  {
    name: "nulls in a patch object landing on a scalar are dropped",
    target: { a: 5 },
    patch: { a: { b: null, c: { d: null, e: 1 } } },
    result: { a: { c: { e: 1 } } },
  },
  {
    name: "nulls in a patch object landing on an array are dropped",
    target: { a: [1] },
    patch: { a: { b: null } },
    result: { a: {} },
  },
  {
    name: "many keys in one patch",
    target: { a: 1, b: 2, c: 3 },
    patch: { a: null, b: 20, d: 4 },
    result: { b: 20, c: 3, d: 4 },
  },
];

describe("mergePatch semantics", () => {
  it.each(cases)("$name", ({ target, patch, result }) => {
    expect(mergePatch(target, patch)).toStrictEqual(result);
  });

  it.each(cases)("$name, through applyClaimsPatch", ({ target, patch, result }) => {
    expect(applyClaimsPatch(target, patch, DEFAULT_CLAIMS_POLICY)).toStrictEqual(result);
  });

  it("keeps the target's key order and appends new keys", () => {
    expect(Object.keys(mergePatch({ b: 1, a: 1 }, { c: 1, b: 2 }))).toStrictEqual(["b", "a", "c"]);
  });
});

describe("mergePatch purity", () => {
  const target = (): JsonObject => ({ a: { b: [1, { c: 2 }] }, d: "x", gone: 1 });
  const patch = (): JsonObject => ({ a: { b: [3, { e: 4 }], f: { g: null } }, gone: null, h: [null] });

  it.each(cases)("does not mutate frozen inputs: $name", ({ target: t, patch: p }) => {
    const frozenTarget = deepFreeze(structuredClone(t));
    const frozenPatch = deepFreeze(structuredClone(p));
    mergePatch(frozenTarget, frozenPatch);
    expect(frozenTarget).toStrictEqual(t);
    expect(frozenPatch).toStrictEqual(p);
  });

  it("leaves both inputs deep-equal to their originals", () => {
    const t = target();
    const p = patch();
    mergePatch(t, p);
    expect(t).toStrictEqual(target());
    expect(p).toStrictEqual(patch());
  });

  it("returns a new top-level object even for an empty patch", () => {
    const t = target();
    expect(mergePatch(t, {})).not.toBe(t);
  });

  it("shares no object or array with the patch", () => {
    const p = patch();
    const result = mergePatch(target(), p);
    const shared = [...containersOf(result)].filter((item) => containersOf(p).has(item));
    expect(shared).toStrictEqual([]);
  });

  it("shares no object or array with the target", () => {
    const t = target();
    const result = mergePatch(t, { d: "y" });
    const shared = [...containersOf(result)].filter((item) => containersOf(t).has(item));
    expect(shared).toStrictEqual([]);
  });

  it("mutating the result does not reach the patch or the target", () => {
    const t = target();
    const p = patch();
    const result = mergePatch(t, p) as { a: { b: unknown[]; f: JsonObject }; h: unknown[] };
    result.a.b.push("more");
    result.a.f["added"] = 1;
    result.h.push(1);
    expect(p).toStrictEqual(patch());
    expect(t).toStrictEqual(target());
  });

  it("applyClaimsPatch shares nothing with either input and mutates neither", () => {
    const t = deepFreeze(target());
    const p = deepFreeze(patch());
    const result = applyClaimsPatch(t, p, DEFAULT_CLAIMS_POLICY);
    const inputs = new Set([...containersOf(t), ...containersOf(p)]);
    expect([...containersOf(result)].filter((item) => inputs.has(item))).toStrictEqual([]);
    expect(t).toStrictEqual(target());
    expect(p).toStrictEqual(patch());
  });
});
