import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { ClaimsOverlay, JsonObject, JsonValue } from "../../src/claims/index.js";
import {
  applyOverlay,
  composeOverlays,
  EMPTY_OVERLAY,
  mergePatch,
  overlayByteSize,
  overlayFromJson,
  overlayFromPatch,
  overlaySetPaths,
  overlayToJson,
} from "../../src/claims/index.js";
import { CorruptClaimsOverlayError } from "../../src/errors.js";

/** Canonical text of a JSON value: keys sorted, so key order does not matter; own keys only. */
function canonical(value: JsonValue | undefined): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(Object.getOwnPropertyDescriptor(value, k)?.value)}`).join(",")}}`;
}

/** The value at a JSON Pointer, reading own properties only. */
function at(value: JsonValue | undefined, pointer: string): JsonValue | undefined {
  let current = value;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (current === null || typeof current !== "object" || Array.isArray(current) || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = Object.getOwnPropertyDescriptor(current, key)?.value as JsonValue;
  }
  return current;
}

// Few keys, so patches collide often; the prototype-ish names are ordinary keys among them.
const key = fc.constantFrom("a", "b", "c", "__proto__", "constructor", "prototype", "x/y~z");
const scalar = fc.oneof(
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.string({ maxLength: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
);
const { value: jsonValue } = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    scalar,
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
    tie("object"),
  ),
  object: fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
}));
const jsonObject = fc.dictionary(key, jsonValue, { maxKeys: 5, noNullPrototype: true });
// JSON.parse(JSON.stringify(...)) makes "__proto__" an own data key, as a request body or jsonb would.
const asParsed = (value: JsonObject): JsonObject => JSON.parse(JSON.stringify(value)) as JsonObject;
const base = jsonObject.map(asParsed);
const patch = jsonObject.map(asParsed);
const patches = fc.array(patch, { maxLength: 6 });
const fold = (list: readonly JsonObject[]): ClaimsOverlay =>
  list.map(overlayFromPatch).reduce(composeOverlays, EMPTY_OVERLAY);
/** An overlay folded from a few patches, so it holds replace-of-object nodes that no single patch yields. */
const overlay = fc.array(patch, { minLength: 1, maxLength: 3 }).map(fold);
const stored = (value: ClaimsOverlay): string => canonical(overlayToJson(value));

const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
afterAll(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(prototypeNames);
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
});

describe("overlay properties", () => {
  it("applying the composed overlay of p1..pn to any base equals mergePatch(...mergePatch(B, p1)..., pn)", () => {
    fc.assert(
      fc.property(base, patches, (b, ps) => {
        const replayed = ps.reduce(mergePatch, b);
        expect(canonical(applyOverlay(b, fold(ps)))).toBe(canonical(replayed));
      }),
      { numRuns: 1500 },
    );
  });

  it("composition is associative, structurally (stored form) and in effect", () => {
    fc.assert(
      fc.property(overlay, overlay, overlay, base, (a, b, c, target) => {
        const left = composeOverlays(composeOverlays(a, b), c);
        const right = composeOverlays(a, composeOverlays(b, c));
        expect(stored(left)).toBe(stored(right));
        expect(canonical(applyOverlay(target, left))).toBe(canonical(applyOverlay(target, right)));
      }),
      { numRuns: 800 },
    );
  });

  it("composing then applying equals applying one overlay after the other", () => {
    fc.assert(
      fc.property(overlay, overlay, base, (first, second, target) => {
        const sequential = applyOverlay(applyOverlay(target, first), second);
        expect(canonical(applyOverlay(target, composeOverlays(first, second)))).toBe(canonical(sequential));
      }),
      { numRuns: 800 },
    );
  });

  it("overlayByteSize is the UTF-8 length of the stored JSON text, also for overlays sharing nodes", () => {
    const anyKey = fc.oneof(key, fc.string({ unit: "binary", maxLength: 4 }));
    const { value: anyValue } = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.constant(null), scalar, fc.string({ unit: "binary" }), tie("object")),
      object: fc.dictionary(anyKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
    }));
    const anyPatch = fc.dictionary(anyKey, anyValue, { maxKeys: 5, noNullPrototype: true }).map(asParsed);
    const bytes = (o: ClaimsOverlay) => Buffer.byteLength(JSON.stringify(overlayToJson(o)), "utf8");
    fc.assert(
      fc.property(fc.array(anyPatch, { maxLength: 6 }), (ps) => {
        // Each step composes onto the last, so later overlays share (already counted) nodes with earlier ones.
        let o = EMPTY_OVERLAY;
        for (const p of ps) {
          o = composeOverlays(o, overlayFromPatch(p));
          expect(overlayByteSize(o)).toBe(bytes(o));
        }
        const decoded = overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(o))));
        expect(overlayByteSize(decoded)).toBe(bytes(o));
      }),
      { numRuns: 800 },
    );
  });

  it("EMPTY_OVERLAY is the identity of composition", () => {
    fc.assert(
      fc.property(overlay, (o) => {
        expect(stored(composeOverlays(EMPTY_OVERLAY, o))).toBe(stored(o));
        expect(stored(composeOverlays(o, EMPTY_OVERLAY))).toBe(stored(o));
      }),
    );
  });

  it("a round trip through the stored JSON text preserves the overlay and its effect", () => {
    fc.assert(
      fc.property(overlay, base, (o, target) => {
        const decoded = overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(o))));
        expect(stored(decoded)).toBe(stored(o));
        expect(canonical(applyOverlay(target, decoded))).toBe(canonical(applyOverlay(target, o)));
      }),
      { numRuns: 800 },
    );
  });

  it("every path the session set holds exactly the set value in the effective claims, whatever the base", () => {
    fc.assert(
      fc.property(overlay, base, (o, target) => {
        const claims = applyOverlay(target, o);
        const storedForm = overlayToJson(o);
        for (const pointer of overlaySetPaths(o)) {
          const node = at(storedForm, pointer) as JsonValue[];
          expect(canonical(at(claims, pointer))).toBe(canonical(node[0]));
        }
      }),
      { numRuns: 800 },
    );
  });

  it("applying never mutates the base, and results share no containers with it", () => {
    fc.assert(
      fc.property(base, overlay, (target, o) => {
        const before = canonical(target);
        const result = applyOverlay(target, o);
        expect(canonical(target)).toBe(before);
        const mine = new Set<object>();
        const walk = (value: JsonValue | undefined, into: Set<object>) => {
          const pending = [value];
          for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
            if (item === null || typeof item !== "object") continue;
            into.add(item);
            for (const k of Object.keys(item)) pending.push(Object.getOwnPropertyDescriptor(item, k)?.value);
          }
        };
        walk(target, mine);
        const theirs = new Set<object>();
        walk(result, theirs);
        for (const item of theirs) expect(mine.has(item)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("decoding any JSON value or JS value either yields an overlay or throws CorruptClaimsOverlayError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything(), overlay.map(overlayToJson)), (value) => {
        try {
          const decoded = overlayFromJson(value);
          // Whatever decodes re-encodes to a value that decodes to the same overlay.
          expect(stored(overlayFromJson(overlayToJson(decoded)))).toBe(stored(decoded));
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptClaimsOverlayError);
        }
      }),
      { numRuns: 800 },
    );
  });

  it("hostile __proto__ / constructor.prototype patches never touch Object.prototype", () => {
    const hostile = fc.constantFrom(
      '{"__proto__": {"polluted": true}}',
      '{"constructor": {"prototype": {"polluted": true}}}',
      '{"__proto__": null}',
      '{"__proto__": [{"polluted": true}]}',
    );
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 4 }), base, (texts, target) => {
        const o = fold(texts.map((text) => JSON.parse(text) as JsonObject));
        applyOverlay(target, overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(o)))));
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(prototypeNames);
      }),
      { numRuns: 200 },
    );
  });
});
