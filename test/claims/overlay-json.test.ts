import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/index.js";
import {
  applyOverlay,
  composeOverlays,
  EMPTY_OVERLAY,
  MAX_STORED_OVERLAY_DEPTH,
  overlayByteSize,
  overlayFromJson,
  overlayFromPatch,
  overlayToJson,
} from "../../src/claims/index.js";
import { CorruptClaimsOverlayError, TesseraError } from "../../src/errors.js";
import { SECRET } from "./helpers.js";

function expectCorrupt(value: unknown, pointer: string, maxDepth?: number): CorruptClaimsOverlayError {
  let caught: unknown;
  try {
    overlayFromJson(value, maxDepth);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CorruptClaimsOverlayError);
  const err = caught as CorruptClaimsOverlayError;
  expect(err.reason).toBe("CORRUPT_CLAIMS_OVERLAY");
  expect(err.pointer).toBe(pointer);
  expect(err.message).not.toContain(SECRET);
  return err;
}

/** `levels` objects nested under "d", the innermost holding `leaf`. */
function nest(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < levels; level += 1) value = { d: value };
  return value;
}

describe("overlayToJson", () => {
  it("stores EMPTY_OVERLAY as {}", () => {
    expect(overlayToJson(EMPTY_OVERLAY)).toStrictEqual({});
  });

  it("stores delete as null, replace as [value] and merge as an object", () => {
    const overlay = composeOverlays(
      overlayFromPatch({ a: null, x: { y: null } }),
      overlayFromPatch({ a: { b: 1 }, s: "v", l: [null, 2], o: {} }),
    );
    expect(overlayToJson(overlay)).toStrictEqual({ a: [{ b: 1 }], x: { y: null }, s: ["v"], l: [[null, 2]], o: {} });
  });

  it("shares no objects with the overlay", () => {
    const overlay = overlayFromPatch({ a: { b: [1] }, c: [{ d: 1 }] });
    const stored = overlayToJson(overlay);
    // stored.c is [[{d: 1}]]: the replace wrapper around the array value.
    const wrapped = stored["c"] as JsonObject[][];
    (wrapped[0]?.[0] as JsonObject)["d"] = 2;
    ((stored["a"] as JsonObject)["b"] as number[][])[0]?.push(2);
    expect(applyOverlay({}, overlay)).toStrictEqual({ a: { b: [1] }, c: [{ d: 1 }] });
  });

  it("overlayByteSize is the UTF-8 length of the stored JSON", () => {
    const overlay = overlayFromPatch({ é: "ü", a: null });
    expect(JSON.stringify(overlayToJson(overlay))).toBe('{"é":["ü"],"a":null}');
    expect(overlayByteSize(overlay)).toBe(22);
    expect(overlayByteSize(EMPTY_OVERLAY)).toBe(2);
  });
});

describe("overlayFromJson", () => {
  it("round-trips through JSON text (as a jsonb column returns it)", () => {
    const overlay = composeOverlays(overlayFromPatch({ a: null, n: { m: 1 } }), overlayFromPatch({ a: { b: 1 } }));
    const decoded = overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(overlay))));
    expect(overlayToJson(decoded)).toStrictEqual(overlayToJson(overlay));
    expect(applyOverlay({ a: { z: 1 }, n: { k: 1 } }, decoded)).toStrictEqual({ a: { b: 1 }, n: { k: 1, m: 1 } });
  });

  it("accepts key order as jsonb returns it (shortest keys first)", () => {
    const decoded = overlayFromJson(JSON.parse('{"b": null, "aa": [1]}'));
    expect(applyOverlay({ b: 1 }, decoded)).toStrictEqual({ aa: 1 });
  });

  it("copies replace values: changing the decoded input afterwards changes nothing", () => {
    const stored = { a: [{ b: 1 }] };
    const decoded = overlayFromJson(stored);
    (stored.a[0] as { b: number }).b = 2;
    expect(applyOverlay({}, decoded)).toStrictEqual({ a: { b: 1 } });
  });

  it("accepts objects without a prototype", () => {
    const stored = Object.assign(Object.create(null) as object, { a: [1] });
    expect(applyOverlay({}, overlayFromJson(stored))).toStrictEqual({ a: 1 });
  });

  it.each<[string, unknown, string]>([
    ["null at the top", null, ""],
    ["an array at the top", [{ a: 1 }], ""],
    ["a string at the top", SECRET, ""],
    ["a number at the top", 1, ""],
    ["undefined at the top", undefined, ""],
    ["a Date at the top", new Date(0), ""],
    ["a class instance at the top", new (class Secret {})(), ""],
    ["a bare string node", { a: SECRET }, "/a"],
    ["a bare number node", { a: 1 }, "/a"],
    ["a boolean node", { a: true }, "/a"],
    ["an empty array node", { a: [] }, "/a"],
    ["a two-element array node", { a: [SECRET, 2] }, "/a"],
    ["a sparse one-element array node", { a: new Array(1) }, "/a"],
    ["a replace by null", { a: [null] }, "/a"],
    ["a nested bad node", { a: { b: { c: SECRET } } }, "/a/b/c"],
    ["a Date node", { a: new Date(0) }, "/a"],
    ["undefined in a replace value", { a: [{ b: undefined }] }, "/a/b"],
    ["a non-finite number in a replace value", { a: [{ b: [1, Number.POSITIVE_INFINITY] }] }, "/a/b/1"],
    ["NaN as a replace value", { a: [Number.NaN] }, "/a"],
    ["a function in a replace value", { a: [{ f: () => SECRET }] }, "/a/f"],
    ["a Map in a replace value", { a: [new Map([["k", SECRET]])] }, "/a"],
    ["a sparse array in a replace value", { a: [[1, , 3]] }, "/a/1"],
    ["~ and / escaped in the pointer", { "x/y": { "~": 1 } }, "/x~1y/~0"],
  ])("refuses %s, naming where", (_label, value, pointer) => {
    expectCorrupt(value, pointer);
  });

  it("is not a TesseraError, so the error mapper reports it as INTERNAL and logs it", () => {
    const err = expectCorrupt({ a: 1 }, "/a");
    expect(err).not.toBeInstanceOf(TesseraError);
    expect(err.name).toBe("CorruptClaimsOverlayError");
  });

  it("cuts long pointers short in the error", () => {
    const err = expectCorrupt({ ["k".repeat(500)]: 1 }, `/${"k".repeat(199)}…`);
    expect(err.message.length).toBeLessThan(300);
  });

  it(`accepts merge nodes nested ${MAX_STORED_OVERLAY_DEPTH} levels and refuses one more by default`, () => {
    expect(() => overlayFromJson(nest(MAX_STORED_OVERLAY_DEPTH - 1, { leaf: [1] }))).not.toThrow();
    const err = expectCorrupt(
      nest(MAX_STORED_OVERLAY_DEPTH, { leaf: [1] }),
      `${"/d".repeat(MAX_STORED_OVERLAY_DEPTH).slice(0, 200)}…`,
    );
    expect(err.message).toContain("deeper than 256 levels");
  });

  it("counts the containers of a replace value in the depth, without the wrapping array", () => {
    // As in the claims {"a": {"b": [1]}}: the top-level object (1) > a's object (2) > b's array (3).
    expect(() => overlayFromJson({ a: [{ b: [1] }] }, 3)).not.toThrow();
    expectCorrupt({ a: [{ b: [[1]] }] }, "/a/b/0", 3);
  });

  it("decodes a 10,000-deep stored value without overflowing the stack, given a larger maxDepth", () => {
    const stored = { a: [nest(10_000, 1)] };
    const overlay = overlayFromJson(stored, 20_000);
    let depth = 0;
    let at = applyOverlay({}, overlay)["a"] as JsonObject;
    for (; typeof at === "object"; at = at["d"] as JsonObject) depth += 1;
    expect(depth).toBe(10_000);
    expectCorrupt(stored, `${`/a${"/d".repeat(255)}`.slice(0, 200)}…`);
  });
});
