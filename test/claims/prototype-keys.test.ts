import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import { applyClaimsPatch, DEFAULT_CLAIMS_POLICY, mergePatch, validateInitialClaims } from "../../src/claims/index.js";
import { containersOf } from "./helpers.js";

const KEYS = ["__proto__", "constructor", "prototype"] as const;
const policy = DEFAULT_CLAIMS_POLICY;
const parse = (text: string): JsonObject => JSON.parse(text) as JsonObject;
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

function expectPrototypeUntouched(): void {
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(prototypeNames);
}

function expectPlainObjects(value: JsonObject): void {
  for (const item of containersOf(value)) {
    expect(Object.getPrototypeOf(item)).toBe(Array.isArray(item) ? Array.prototype : Object.prototype);
  }
}

function ownValue(value: unknown, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(value, key);
  expect(descriptor).toMatchObject({ enumerable: true, writable: true, configurable: true });
  return descriptor?.value;
}

afterEach(expectPrototypeUntouched);

describe.each(KEYS)("the key %s is ordinary data", (key) => {
  it("is stored as an own property at the top level (mergePatch)", () => {
    const result = mergePatch({}, parse(`{"${key}": {"polluted": 1}}`));
    expect(JSON.stringify(ownValue(result, key))).toBe('{"polluted":1}');
    expect(JSON.stringify(result)).toBe(`{"${key}":{"polluted":1}}`);
    expectPlainObjects(result);
  });

  it("is stored as an own property at the top level (applyClaimsPatch)", () => {
    const result = applyClaimsPatch({ a: 1 }, parse(`{"${key}": {"polluted": 1}}`), policy);
    expect(JSON.stringify(result)).toBe(`{"a":1,"${key}":{"polluted":1}}`);
    expectPlainObjects(result);
  });

  it("is stored as an own property at creation (validateInitialClaims)", () => {
    const result = validateInitialClaims(parse(`{"${key}": {"polluted": 1}}`), policy);
    expect(JSON.stringify(result)).toBe(`{"${key}":{"polluted":1}}`);
  });

  it("is stored as an own property when nested", () => {
    const result = applyClaimsPatch({}, parse(`{"a": {"${key}": {"polluted": 1}}}`), policy);
    expect(JSON.stringify(ownValue(result["a"], key))).toBe('{"polluted":1}');
    expect(JSON.stringify(result)).toBe(`{"a":{"${key}":{"polluted":1}}}`);
    expectPlainObjects(result);
  });

  it("is stored as an own property inside an array element", () => {
    const result = applyClaimsPatch({}, parse(`{"list": [{"${key}": {"polluted": 1}}]}`), policy);
    expect(JSON.stringify(result)).toBe(`{"list":[{"${key}":{"polluted":1}}]}`);
    expectPlainObjects(result);
  });

  it("holds a scalar value as data", () => {
    const result = applyClaimsPatch({}, parse(`{"${key}": 5}`), policy);
    expect(ownValue(result, key)).toBe(5);
  });

  it("merges into an existing value stored under it", () => {
    const result = applyClaimsPatch(parse(`{"${key}": {"x": 1}}`), parse(`{"${key}": {"y": 2}}`), policy);
    expect(JSON.stringify(result)).toBe(`{"${key}":{"x":1,"y":2}}`);
  });

  it("drops nulls in a patch object landing under it", () => {
    const result = applyClaimsPatch({}, parse(`{"${key}": {"a": null, "b": 1}}`), policy);
    expect(JSON.stringify(result)).toBe(`{"${key}":{"b":1}}`);
  });

  it("is deletable with null at the top level", () => {
    const result = applyClaimsPatch(parse(`{"${key}": {"x": 1}, "k": 1}`), parse(`{"${key}": null}`), policy);
    expect(Object.hasOwn(result, key)).toBe(false);
    expect(JSON.stringify(result)).toBe('{"k":1}');
  });

  it("is deletable with null when nested", () => {
    const result = applyClaimsPatch(parse(`{"a": {"${key}": 1, "k": 1}}`), parse(`{"a": {"${key}": null}}`), policy);
    expect(JSON.stringify(result)).toBe('{"a":{"k":1}}');
  });

  it("null for it when absent is a no-op and keeps the prototype", () => {
    const result = applyClaimsPatch({ k: 1 }, parse(`{"${key}": null}`), policy);
    expect(Object.hasOwn(result, key)).toBe(false);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.stringify(result)).toBe('{"k":1}');
  });
});

describe("prototype pollution", () => {
  it('JSON.parse(\'{"__proto__": {"polluted": 1}}\') as a patch pollutes nothing', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": 1}}') as JsonObject;
    const result = applyClaimsPatch({}, patch, policy);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect((result as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("a __proto__ patch merged onto an object never changes that object's prototype", () => {
    const result = mergePatch({ a: { b: 1 } }, parse('{"a": {"__proto__": {"polluted": 1}}}'));
    expect(Object.getPrototypeOf(result["a"])).toBe(Object.prototype);
    expect((result["a"] as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("constructor.prototype patches leave Object.prototype alone", () => {
    applyClaimsPatch({}, parse('{"constructor": {"prototype": {"polluted": 1}}}'), policy);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});
