import { describe, expect, it } from "vitest";
import type { ClaimsOverlay, JsonObject } from "../../src/claims/index.js";
import {
  applyOverlay,
  compileClaimTemplate,
  composeOverlays,
  DEFAULT_CLAIMS_POLICY,
  EMPTY_OVERLAY,
  mergePatch,
  overlayFromJson,
  overlayFromPatch,
  overlaySetPaths,
  overlayToJson,
  renderClaimTemplate,
} from "../../src/claims/index.js";
import { containersOf, deepFreeze } from "./helpers.js";

/** The overlay of patches applied in order. */
function fold(...patches: JsonObject[]): ClaimsOverlay {
  return patches.map(overlayFromPatch).reduce(composeOverlays, EMPTY_OVERLAY);
}

/** What replaying the patches one by one gives. */
function replay(base: JsonObject, ...patches: JsonObject[]): JsonObject {
  return patches.reduce(mergePatch, base);
}

const parse = (text: string): JsonObject => JSON.parse(text) as JsonObject;

describe("the delete-then-set trap", () => {
  const patches: JsonObject[] = [{ a: null }, { a: { b: 1 } }];

  it.each<[string, JsonObject]>([
    ["an object under a", { a: { z: 9, b: 0 }, k: 1 }],
    ["a scalar under a", { a: 5, k: 1 }],
    ["an array under a", { a: [1, 2], k: 1 }],
    ["no a at all", { k: 1 }],
  ])("{a: null} then {a: {b: 1}} gives a = {b: 1} over %s", (_label, base) => {
    expect(applyOverlay(base, fold(...patches))).toStrictEqual({ a: { b: 1 }, k: 1 });
    expect(applyOverlay(base, fold(...patches))).toStrictEqual(replay(base, ...patches));
  });

  it("is stored as a replace of a, not as the merge patch {a: {b: 1}}", () => {
    expect(overlayToJson(fold(...patches))).toStrictEqual({ a: [{ b: 1 }] });
  });

  it("the single patch {a: {b: 1}} instead merges into the base's a", () => {
    expect(applyOverlay({ a: { z: 9 } }, overlayFromPatch({ a: { b: 1 } }))).toStrictEqual({ a: { z: 9, b: 1 } });
  });

  it("nested: {o: {a: null}} then {o: {a: {b: 1}}} replaces o.a and keeps o's other keys", () => {
    const base = { o: { a: { z: 9 }, keep: true } };
    const overlay = fold({ o: { a: null } }, { o: { a: { b: 1 } } });
    expect(applyOverlay(base, overlay)).toStrictEqual({ o: { a: { b: 1 }, keep: true } });
    expect(overlayToJson(overlay)).toStrictEqual({ o: { a: [{ b: 1 }] } });
  });

  it("merge-then-merge: {a: {x: 1}} then {a: {y: 2}} stays a merge into the base's a", () => {
    const overlay = fold({ a: { x: 1 } }, { a: { y: 2 } });
    expect(applyOverlay({ a: { z: 0 } }, overlay)).toStrictEqual({ a: { z: 0, x: 1, y: 2 } });
    expect(overlayToJson(overlay)).toStrictEqual({ a: { x: [1], y: [2] } });
  });

  it("scalar-then-merge: {a: 1} then {a: {b: 1}} replaces a with {b: 1} whatever the base had", () => {
    const overlay = fold({ a: 1 }, { a: { b: 1 } });
    expect(applyOverlay({ a: { z: 9 } }, overlay)).toStrictEqual({ a: { b: 1 } });
    expect(overlayToJson(overlay)).toStrictEqual({ a: [{ b: 1 }] });
  });
});

describe("the issue's example: template output changes under a stored overlay", () => {
  const template = compileClaimTemplate(
    '{"plan": {{ user.trusted_metadata.plan }}, "org": {"id": {{ user.trusted_metadata.org_id }}, "tier": {{ user.trusted_metadata.tier }}}}',
    DEFAULT_CLAIMS_POLICY,
  );
  const before = renderClaimTemplate(template, {
    userId: "user-1",
    trustedMetadata: { plan: "pro", org_id: 1, tier: "gold" },
  });
  const overlay = overlayFromPatch({ org: { tier: null }, x: 1 });

  it("the template first gives {plan: pro, org: {id: 1, tier: gold}}", () => {
    expect(before).toStrictEqual({ plan: "pro", org: { id: 1, tier: "gold" } });
  });

  it("the session's patch {org: {tier: null}, x: 1} applies to it", () => {
    expect(applyOverlay(before, overlay)).toStrictEqual({ plan: "pro", org: { id: 1 }, x: 1 });
  });

  it("after billing changes the metadata, the stored overlay over the new base gives {plan: team, org: {id: 1}, x: 1}", () => {
    const after = renderClaimTemplate(template, {
      userId: "user-1",
      trustedMetadata: { plan: "team", org_id: 1, tier: "silver" },
    });
    expect(after).toStrictEqual({ plan: "team", org: { id: 1, tier: "silver" } });
    const stored = overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(overlay))));
    expect(applyOverlay(after, stored)).toStrictEqual({ plan: "team", org: { id: 1 }, x: 1 });
  });
});

describe("overlayFromPatch", () => {
  it.each<[string, JsonObject, JsonObject]>([
    ["null becomes delete", { a: null }, { a: null }],
    [
      "a scalar becomes replace",
      { a: 1, b: "s", c: false, d: 0, e: "" },
      { a: [1], b: ["s"], c: [false], d: [0], e: [""] },
    ],
    ["an array becomes replace, nulls inside kept", { a: [1, null, { b: null }] }, { a: [[1, null, { b: null }]] }],
    ["an object becomes merge", { a: { b: 1, c: null } }, { a: { b: [1], c: null } }],
    ["an empty object becomes an empty merge", { a: {} }, { a: {} }],
    ["an empty patch is the empty overlay", {}, {}],
  ])("%s", (_label, patch, stored) => {
    expect(overlayToJson(overlayFromPatch(patch))).toStrictEqual(stored);
  });

  it("applied alone, equals mergePatch for the RFC 7396 appendix examples", () => {
    const examples: Array<[JsonObject, JsonObject]> = [
      [{ a: "b" }, { a: "c" }],
      [{ a: "b" }, { b: "c" }],
      [{ a: "b" }, { a: null }],
      [{ a: "b", b: "c" }, { a: null }],
      [{ a: ["b"] }, { a: "c" }],
      [{ a: "c" }, { a: ["b"] }],
      [{ a: { b: "c" } }, { a: { b: "d", c: null } }],
      [{ a: [{ b: "c" }] }, { a: [1] }],
      [{ e: null }, { a: 1 }],
      [{}, { a: { bb: { ccc: null } } }],
    ];
    for (const [target, patch] of examples) {
      expect(applyOverlay(target, overlayFromPatch(patch))).toStrictEqual(mergePatch(target, patch));
    }
  });

  it("copies the patch: changing the patch afterwards changes nothing", () => {
    const patch: JsonObject = { a: [1], b: { c: { d: 1 } } };
    const overlay = overlayFromPatch(patch);
    (patch["a"] as number[]).push(2);
    ((patch["b"] as JsonObject)["c"] as JsonObject)["d"] = 2;
    expect(applyOverlay({}, overlay)).toStrictEqual({ a: [1], b: { c: { d: 1 } } });
  });
});

describe("composeOverlays, node by node", () => {
  // Bases with an object, a scalar, or nothing under "k".
  const bases: JsonObject[] = [{ k: { x: 1, y: 2 } }, { k: "s" }, {}];
  const kinds: Array<[string, JsonObject]> = [
    ["delete", { k: null }],
    ["replace (scalar)", { k: 7 }],
    ["replace (array)", { k: [1] }],
    ["merge", { k: { y: null, z: 3 } }],
  ];
  const pairs = kinds.flatMap(([first, p1]) => kinds.map(([second, p2]) => ({ first, second, p1, p2 })));

  it.each(pairs)("$first then $second equals replaying the two patches, over every base", ({ p1, p2 }) => {
    for (const base of bases) {
      expect(applyOverlay(base, fold(p1, p2))).toStrictEqual(replay(base, p1, p2));
    }
  });

  it.each<[string, JsonObject, JsonObject, JsonObject]>([
    ["anything then delete is delete", { k: { a: 1 } }, { k: null }, { k: null }],
    ["anything then replace is that replace", { k: null }, { k: 2 }, { k: [2] }],
    ["delete then merge is a replace by the merge over {}", { k: null }, { k: { a: 1, b: null } }, { k: [{ a: 1 }] }],
    ["replace by a scalar then merge is a replace by the merge over {}", { k: 1 }, { k: { a: 1 } }, { k: [{ a: 1 }] }],
    ["merge then merge merges children", { k: { a: 1 } }, { k: { b: 2 } }, { k: { a: [1], b: [2] } }],
    ["merge then merge composes a shared child", { k: { a: null } }, { k: { a: { c: 1 } } }, { k: { a: [{ c: 1 }] } }],
    ["keys only in the first survive", { k: 1, j: 2 }, { k: null }, { k: null, j: [2] }],
    ["keys only in the second are added", { k: 1 }, { j: null }, { k: [1], j: null }],
  ])("%s", (_label, p1, p2, stored) => {
    expect(overlayToJson(fold(p1, p2))).toStrictEqual(stored);
  });

  it("replace of an object then merge merges into that object", () => {
    // A replace holding an object only arises from composition: delete, then merge, then merge again.
    const overlay = fold({ k: null }, { k: { a: 1 } }, { k: { b: 2, a: null } });
    expect(overlayToJson(overlay)).toStrictEqual({ k: [{ b: 2 }] });
    expect(applyOverlay({ k: { a: 0, z: 0 } }, overlay)).toStrictEqual({ k: { b: 2 } });
  });

  it("EMPTY_OVERLAY is an identity on both sides", () => {
    const overlay = fold({ a: null, b: { c: 1 } });
    expect(overlayToJson(composeOverlays(EMPTY_OVERLAY, overlay))).toStrictEqual(overlayToJson(overlay));
    expect(overlayToJson(composeOverlays(overlay, EMPTY_OVERLAY))).toStrictEqual(overlayToJson(overlay));
    expect(applyOverlay({ a: 1 }, EMPTY_OVERLAY)).toStrictEqual({ a: 1 });
  });

  it("mutates neither overlay", () => {
    const first = fold({ a: null, b: { c: 1 } });
    const second = fold({ a: { d: 1 }, b: { e: 2 } });
    const [before1, before2] = [overlayToJson(first), overlayToJson(second)];
    composeOverlays(first, second);
    expect(overlayToJson(first)).toStrictEqual(before1);
    expect(overlayToJson(second)).toStrictEqual(before2);
  });
});

describe("applyOverlay", () => {
  it("returns a fresh object sharing nothing with the base or the overlay, and mutates neither", () => {
    const base = deepFreeze<JsonObject>({ a: { b: [1] }, c: { d: 1 } });
    const overlay = fold({ c: { e: [2] }, f: { g: 1 } });
    const result = applyOverlay(base, overlay);
    expect(result).toStrictEqual({ a: { b: [1] }, c: { d: 1, e: [2] }, f: { g: 1 } });
    const shared = [...containersOf(result)].filter((item) => containersOf(base).has(item));
    expect(shared).toStrictEqual([]);
    (result["f"] as JsonObject)["g"] = 2;
    ((result["c"] as JsonObject)["e"] as number[]).push(3);
    expect(applyOverlay({}, overlay)).toStrictEqual({ c: { e: [2] }, f: { g: 1 } });
  });

  it("the seed document's patches, replayed through one overlay over a base, give the documented claims", () => {
    const overlay = fold({ key_1: 1, key_2: 2 }, { key_1: 9 }, { key_1: null });
    expect(applyOverlay({}, overlay)).toStrictEqual({ key_2: 2 });
    const nested = fold(
      { b: null, c: 3.5, e: { nested1: "val1", nested2: "val2" } },
      { e: { nested1: null, nested3: "val3" } },
    );
    expect(applyOverlay({ b: 2, d: 4 }, nested)).toStrictEqual({
      c: 3.5,
      d: 4,
      e: { nested2: "val2", nested3: "val3" },
    });
  });

  it("handles a 10,000-deep merge chain without overflowing the stack", () => {
    let patch: JsonObject = { leaf: 1 };
    for (let level = 0; level < 10_000; level += 1) patch = { d: patch };
    const overlay = composeOverlays(overlayFromPatch(patch), overlayFromPatch(patch));
    const result = applyOverlay({}, overlay);
    let depth = 0;
    for (let at: JsonObject = result; at["d"] !== undefined; at = at["d"] as JsonObject) depth += 1;
    expect(depth).toBe(10_000);
    expect(overlaySetPaths(overlay)).toHaveLength(1);
    const stored = overlayToJson(overlay);
    expect(overlaySetPaths(overlayFromJson(stored, 20_000))).toStrictEqual(overlaySetPaths(overlay));
  });
});

describe.each(["__proto__", "constructor", "prototype"])("the key %s is data in overlays", (key) => {
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

  it("is set, merged, deleted and stored as an own property, and Object.prototype is untouched", () => {
    const overlay = fold(parse(`{"${key}": {"polluted": 1}}`), parse(`{"${key}": {"more": 2}}`));
    const result = applyOverlay(parse(`{"${key}": {"base": 0}}`), overlay);
    expect(JSON.stringify(result)).toBe(`{"${key}":{"base":0,"polluted":1,"more":2}}`);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.stringify(overlayToJson(overlay))).toBe(`{"${key}":{"polluted":[1],"more":[2]}}`);
    const deleted = applyOverlay(parse(`{"${key}": 1, "k": 1}`), fold(parse(`{"${key}": null}`)));
    expect(Object.hasOwn(deleted, key)).toBe(false);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(prototypeNames);
  });

  it("a delete-then-set of it replaces, and decoding the stored form keeps it as data", () => {
    const overlay = fold(parse(`{"${key}": null}`), parse(`{"${key}": {"polluted": 1}}`));
    const decoded = overlayFromJson(JSON.parse(JSON.stringify(overlayToJson(overlay))));
    const result = applyOverlay(parse(`{"${key}": {"base": 0}}`), decoded);
    expect(JSON.stringify(result)).toBe(`{"${key}":{"polluted":1}}`);
    expect(Object.getPrototypeOf(result[key])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("overlaySetPaths", () => {
  it.each<[string, JsonObject[], string[]]>([
    ["nothing set", [{ a: null, b: { c: null } }], []],
    ["top-level and nested sets, sorted", [{ z: 1, a: { b: [1], c: null } }], ["/a/b", "/z"]],
    ["a later delete removes a set", [{ a: 1, b: 2 }, { a: null }], ["/b"]],
    ["delete then merge is one set of the whole object", [{ a: null }, { a: { b: 1, c: 2 } }], ["/a"]],
    ["~ and / in keys are escaped as in JSON Pointer", [{ "a/b": { "c~d": 1 } }], ["/a~1b/c~0d"]],
  ])("%s", (_label, patches, paths) => {
    expect(overlaySetPaths(fold(...patches))).toStrictEqual(paths);
  });
});
