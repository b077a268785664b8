import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { type MetadataMerge, mergeMetadata, topLevelMerge } from "../../src/users/metadata-merge.js";
import { deepFreeze } from "../claims/helpers.js";

interface Case {
  readonly name: string;
  readonly current: JsonObject;
  readonly patch: JsonObject;
  readonly topLevel: JsonObject;
  readonly rfc7396: JsonObject;
}

// Stytch's examples (https://stytch.com/docs/api/metadata and the object update behavior page) come first.
const cases: readonly Case[] = [
  {
    name: "adds a key (Stytch's example)",
    current: { key1: "value1" },
    patch: { key2: "value2" },
    topLevel: { key1: "value1", key2: "value2" },
    rfc7396: { key1: "value1", key2: "value2" },
  },
  {
    name: "replaces a key's value (Stytch's example)",
    current: { key1: "value1" },
    patch: { key1: "value2" },
    topLevel: { key1: "value2" },
    rfc7396: { key1: "value2" },
  },
  {
    name: "replaces a whole array (Stytch's example)",
    current: { key1: [{ deep: "value1" }], other_key: "other_value" },
    patch: { key1: [{ deep: "value1" }, { deep: "value2" }] },
    topLevel: { key1: [{ deep: "value1" }, { deep: "value2" }], other_key: "other_value" },
    rfc7396: { key1: [{ deep: "value1" }, { deep: "value2" }], other_key: "other_value" },
  },
  {
    name: "a top-level null deletes the key",
    current: { key1: "value1", key2: "value2" },
    patch: { key1: null },
    topLevel: { key2: "value2" },
    rfc7396: { key2: "value2" },
  },
  {
    name: "a null for every key empties the object",
    current: { a: 1, b: { c: 2 } },
    patch: { a: null, b: null },
    topLevel: {},
    rfc7396: {},
  },
  {
    name: "a null for an absent key changes nothing",
    current: { a: 1 },
    patch: { z: null },
    topLevel: { a: 1 },
    rfc7396: { a: 1 },
  },
  {
    name: "a nested object replaces the whole top-level value, no deep merge",
    current: { profile: { plan: "free", seats: 3 }, other: 1 },
    patch: { profile: { plan: "pro" } },
    topLevel: { profile: { plan: "pro" }, other: 1 },
    rfc7396: { profile: { plan: "pro", seats: 3 }, other: 1 },
  },
  {
    name: "a nested null is stored as a value, not a delete",
    current: { profile: { plan: "free", seats: 3 } },
    patch: { profile: { seats: null } },
    topLevel: { profile: { seats: null } },
    rfc7396: { profile: { plan: "free" } },
  },
  {
    name: "an empty object replaces the value with {}",
    current: { profile: { plan: "free" } },
    patch: { profile: {} },
    topLevel: { profile: {} },
    rfc7396: { profile: { plan: "free" } },
  },
  {
    name: "an object replaces a scalar and a scalar replaces an object",
    current: { a: 1, b: { c: 1 } },
    patch: { a: { x: 1 }, b: "now a string" },
    topLevel: { a: { x: 1 }, b: "now a string" },
    rfc7396: { a: { x: 1 }, b: "now a string" },
  },
  {
    name: "false, 0 and the empty string are values, not deletes",
    current: { a: 1, b: 1, c: 1 },
    patch: { a: false, b: 0, c: "" },
    topLevel: { a: false, b: 0, c: "" },
    rfc7396: { a: false, b: 0, c: "" },
  },
  {
    name: "an empty patch changes nothing",
    current: { a: { b: [1] } },
    patch: {},
    topLevel: { a: { b: [1] } },
    rfc7396: { a: { b: [1] } },
  },
];

describe("mergeMetadata", () => {
  it.each(cases)("top-level: $name", ({ current, patch, topLevel }) => {
    expect(
      mergeMetadata(deepFreeze(structuredClone(current)), deepFreeze(structuredClone(patch)), "top-level"),
    ).toStrictEqual(topLevel);
  });

  it.each(cases)("rfc7396: $name", ({ current, patch, rfc7396 }) => {
    expect(
      mergeMetadata(deepFreeze(structuredClone(current)), deepFreeze(structuredClone(patch)), "rfc7396"),
    ).toStrictEqual(rfc7396);
  });

  it.each<MetadataMerge>([
    "top-level",
    "rfc7396",
  ])("%s: returns fresh objects that share nothing with the inputs", (mode) => {
    const current: JsonObject = { keep: { a: [1] }, replace: 1 };
    const patch: JsonObject = { replace: { b: [2] } };
    const merged = mergeMetadata(current, patch, mode);
    (merged.keep as { a: number[] }).a.push(9);
    (merged.replace as { b: number[] }).b.push(9);
    expect(current).toStrictEqual({ keep: { a: [1] }, replace: 1 });
    expect(patch).toStrictEqual({ replace: { b: [2] } });
  });

  it("top-level: stores __proto__, constructor and prototype as ordinary keys", () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "prototype": null}') as JsonObject;
    const merged = topLevelMerge({ prototype: 2 }, patch);
    expect(Object.keys(merged)).toStrictEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(merged, "__proto__")?.value).toStrictEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("top-level: keeps the order of current keys and appends new ones", () => {
    expect(Object.keys(topLevelMerge({ b: 1, a: 1 }, { c: 1, b: 2 }))).toStrictEqual(["b", "a", "c"]);
  });
});
