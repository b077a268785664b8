import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESERVED_CLAIMS } from "../../src/claims/index.js";
import type { JsonObject, JsonValue } from "../../src/claims/json.js";
import { mergePatch } from "../../src/claims/merge-patch.js";
import { outcomeOf, storedSnapshot } from "../hostile/hostile-support.js";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

type Model =
  | { readonly kind: "object"; readonly entries: Map<string, Model> }
  | { readonly kind: "leaf"; readonly value: JsonValue };

/** The reference model: RFC 7396 section 2's MergePatch pseudocode, over Maps, written independently of src/. */
function modelOf(value: JsonValue): Model {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return { kind: "object", entries: new Map(Object.keys(value).map((k) => [k, modelOf(value[k] as JsonValue)])) };
  }
  return { kind: "leaf", value };
}

function referenceMerge(target: Model, patch: Model): Model {
  if (patch.kind !== "object") return patch;
  const entries = new Map(target.kind === "object" ? target.entries : []);
  for (const [name, value] of patch.entries) {
    if (value.kind === "leaf" && value.value === null) entries.delete(name);
    else entries.set(name, referenceMerge(entries.get(name) ?? { kind: "leaf", value: null }, value));
  }
  return { kind: "object", entries };
}

/** Canonical text of a model or a value: keys sorted, so key order does not matter. */
function canonical(model: Model): string {
  if (model.kind === "leaf") return JSON.stringify(model.value);
  const keys = [...model.entries.keys()].sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(model.entries.get(k) as Model)}`).join(",")}}`;
}

const key = fc.oneof(
  fc.constantFrom("a", "b", "c", "__proto__", "constructor", "prototype", "toString", ""),
  fc.string({ maxLength: 4 }),
);
const { value: jsonValue } = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.string({ maxLength: 5 }),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
}));
const jsonObject = jsonValue.filter((v): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v));

describe("mergePatch properties", () => {
  it("equals the reference RFC 7396 model", () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (target, patch) => {
        expect(canonical(modelOf(mergePatch(target, patch)))).toBe(
          canonical(referenceMerge(modelOf(target), modelOf(patch))),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("is idempotent: applying a patch twice equals applying it once", () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (target, patch) => {
        const once = mergePatch(target, patch);
        expect(canonical(modelOf(mergePatch(once, patch)))).toBe(canonical(modelOf(once)));
      }),
      { numRuns: 500 },
    );
  });

  it("never changes Object.prototype, whatever the patch (including __proto__ keys)", () => {
    const protoKeys = () => Reflect.ownKeys(Object.prototype).map(String).sort();
    const before = protoKeys();
    const hostile = fc.record({ __proto__: jsonObject, constructor: fc.record({ prototype: jsonObject }) });
    fc.assert(
      fc.property(jsonObject, fc.oneof(jsonObject, hostile as fc.Arbitrary<JsonObject>), (target, patch) => {
        mergePatch(target, JSON.parse(JSON.stringify(patch)) as JsonObject);
        expect(protoKeys()).toEqual(before);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(protoKeys()).toEqual(before);
  });
});

describe.each(backends())("rejected patches via the server on %s", (backend) => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp(backend);
    token = (await t.client("grpc").createSession({ userId: "prop", sessionCustomClaims: { keep: [1, "two"] } }))
      .sessionToken;
  });
  afterAll(() => t?.close());

  it("leave the stored session byte-identical", async () => {
    const reserved = fc.constantFrom(...RESERVED_CLAIMS, "https://tessera.dev/session", "https://tessera.dev/x");
    const bad = fc.oneof(
      // A reserved top-level name, set or deleted, next to ordinary keys.
      fc
        .tuple(reserved, jsonValue, jsonObject)
        .map(([name, value, rest]) => ({ ...rest, [name]: value })),
      // Over 4096 bytes once merged.
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 4100, max: 6000 }))
        .map(([k, n]) => ({ [k]: "é".repeat(n / 2) })),
      // Deeper than 32 levels (and shallow enough for protobuf-es, which stops at 100 nested messages).
      fc
        .integer({ min: 33, max: 40 })
        .map((depth) => {
          let v: JsonObject = { x: 1 };
          for (let i = 1; i < depth; i++) v = { d: v };
          return v;
        }),
      // U+0000 (which jsonb refuses) in a key or a string, at the top or nested, next to ordinary keys.
      fc
        .tuple(jsonObject, fc.string({ maxLength: 3 }), fc.boolean(), fc.boolean())
        .map(([rest, text, asKey, nested]): JsonObject => {
          const poisoned: JsonObject = asKey ? { [`${text}\u0000`]: 1 } : { k: `${text}\u0000${text}` };
          return nested ? { ...rest, n: poisoned } : { ...rest, ...poisoned };
        }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async (patch) => {
        const before = await storedSnapshot(t);
        const outcome = await outcomeOf(
          t
            .client("grpc")
            .authenticateSession({ credential: { case: "sessionToken", value: token }, sessionCustomClaims: patch }),
        );
        expect(outcome.code).not.toBe("ok");
        expect(["RESERVED_CLAIM", "RESERVED_NAMESPACE_CLAIM", "CLAIMS_TOO_LARGE", "INVALID_CLAIMS"]).toContain(
          outcome.reason,
        );
        expect(await storedSnapshot(t)).toBe(before);
      }),
      { numRuns: 40 },
    );
  });
});
