import { create, type DescField, type DescMessage, type Message, ScalarType, toBinary } from "@bufbuild/protobuf";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { EventService } from "../../gen/tessera/events/v1/event_service_pb.js";
import { SessionSchema } from "../../gen/tessera/sessions/v1/session_pb.js";
import { AuthenticateSessionResponseSchema, SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { UserService } from "../../gen/tessera/users/v1/user_service_pb.js";
import { fastToBinary, withFastToBinary } from "../../src/rpc/fast-to-binary.js";
import { removeProtoAccessor } from "../../src/rpc/proto-accessor.js";

// As the server runs: a claim named __proto__ is ordinary data for protobuf-es too.
beforeAll(() => removeProtoAccessor());

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", "__proto__", "constructor", "é☃😀"),
);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 2 ** 53, -(2 ** 31)),
);
const json = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    fc.array(tie("value"), { maxLength: 4 }),
    tie("object"),
  ),
  object: fc.dictionary(text, tie("value"), { maxKeys: 5 }),
})).object;

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

/** Any value protobuf-es would write for a scalar of this type (zero values included, so presence is tested). */
function scalarOf(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
      return fc.oneof(number, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY));
    case ScalarType.INT32:
      return fc.oneof(fc.integer(), fc.constant(0));
    case ScalarType.UINT32:
      return fc.oneof(fc.nat({ max: 0xffffffff }), fc.constant(0));
    case ScalarType.INT64:
      return fc.oneof(int64, fc.constant(0n));
    case ScalarType.UINT64:
      return fc.oneof(uint64, fc.constant(0n));
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 200 });
    default:
      return fc.constant(undefined);
  }
}

/** A message init of `schema`, every field sometimes left out; `depth` bounds recursion. */
function messageOf(schema: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  if (schema.typeName === "google.protobuf.Struct") return json;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue;
    parts[field.localName] = fieldValueOf(field, depth);
  }
  for (const oneof of schema.oneofs) {
    parts[oneof.localName] = fc.oneof(
      fc.constant({ case: undefined }),
      ...oneof.fields.map((field) => fieldValueOf(field, depth).map((value) => ({ case: field.localName, value }))),
    );
  }
  return fc.record(parts, { requiredKeys: [] });
}

function fieldValueOf(field: DescField, depth: number): fc.Arbitrary<unknown> {
  const enumValue = (values: readonly { number: number }[]) =>
    fc.oneof(fc.constantFrom(...values.map((v) => v.number)), fc.integer({ min: -5, max: 5 }));
  switch (field.fieldKind) {
    case "scalar":
      return scalarOf(field.scalar);
    case "enum":
      return enumValue(field.enum.values);
    case "message":
      return depth > 3 ? fc.constant(undefined) : messageOf(field.message, depth + 1);
    case "list":
      if (field.listKind === "scalar") return fc.array(scalarOf(field.scalar), { maxLength: 4 });
      if (field.listKind === "enum") return fc.array(enumValue(field.enum.values), { maxLength: 4 });
      return depth > 3 ? fc.constant([]) : fc.array(messageOf(field.message, depth + 1), { maxLength: 3 });
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalarOf(field.scalar)
          : field.mapKind === "enum"
            ? enumValue(field.enum.values)
            : messageOf(field.message, depth + 1);
      return fc.dictionary(text, value, { maxKeys: 3 });
    }
  }
}

/** Every request and response message of Tessera's services. */
const schemas: DescMessage[] = [SessionService, UserService, EventService, AdminService].flatMap((service) =>
  service.methods.flatMap((method) => [method.input, method.output]),
);

function bytesOf(schema: DescMessage, message: Message): { fast: Uint8Array | undefined; protobuf: Uint8Array } {
  return { fast: fastToBinary(schema, message), protobuf: toBinary(schema, message) };
}

describe("fastToBinary", () => {
  it.each(
    schemas.map((schema) => [schema.typeName, schema] as const),
  )("writes exactly protobuf-es' toBinary bytes for any %s", (_name, schema) => {
    fc.assert(
      fc.property(messageOf(schema, 0), (init) => {
        const message = create(schema, init);
        const { fast, protobuf } = bytesOf(schema, message);
        expect(fast).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(fast as Uint8Array).equals(Buffer.from(protobuf))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("writes every SessionService response itself (nothing falls back to protobuf-es)", () => {
    for (const method of SessionService.methods) {
      const message = create(method.output, {});
      expect(fastToBinary(method.output, message), method.name).toBeInstanceOf(Uint8Array);
    }
  });

  it("writes a session with 64 custom claims, nested values, __proto__ and lone surrogates as protobuf-es does", () => {
    const customClaims: Record<string, unknown> = {
      ["__proto__"]: { x: [1, "a", null, true, {}] },
      "\ud800": "\udc00",
    };
    for (let i = 0; i < 64; i++) customClaims[`k${i}`] = i % 2 === 0 ? i : { n: [i, -0, 1.5e300] };
    const message = create(AuthenticateSessionResponseSchema, {
      session: create(SessionSchema, {
        sessionId: "session-1",
        userId: "user-1",
        startedAt: { seconds: 1_800_000_000n, nanos: 123_000_000 },
        roles: ["admin", "reader"],
        customClaims: customClaims as never,
        claimsVersion: 2n ** 40n,
      }),
      sessionToken: "t".repeat(43),
      sessionJwt: "j".repeat(5000),
    });
    expect(Object.hasOwn(message.session?.customClaims ?? {}, "__proto__")).toBe(true);
    const { fast, protobuf } = bytesOf(AuthenticateSessionResponseSchema, message);
    expect(fast).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(fast as Uint8Array).equals(Buffer.from(protobuf))).toBe(true);
  });

  it("leaves a value protobuf-es must judge to protobuf-es", () => {
    const outOfRange = create(SessionSchema, { claimsVersion: 2n ** 63n });
    expect(fastToBinary(SessionSchema, outOfRange)).toBeUndefined();
    expect(() => toBinary(SessionSchema, outOfRange)).toThrow();
    const notAString = { ...create(SessionSchema), sessionId: 7 } as unknown as Message;
    expect(fastToBinary(SessionSchema, notAString)).toBeUndefined();
    // Whether unknown fields are written is an option of the serialization, which protobuf-es applies.
    const withUnknown = create(SessionSchema, { sessionId: "s" });
    withUnknown.$unknown = [{ no: 99, wireType: 0, data: new Uint8Array([1]) }];
    expect(fastToBinary(SessionSchema, withUnknown)).toBeUndefined();
  });

  it("serializes as Connect's binary serialization does, refusing a response over writeMaxBytes the same way", () => {
    const method = SessionService.method.authenticateSession;
    const limited = (writeMaxBytes: number) =>
      createMethodSerializationLookup(method, undefined, undefined, { writeMaxBytes, readMaxBytes: 1 << 20 }).getO(
        true,
      );
    const message = create(AuthenticateSessionResponseSchema, {
      sessionJwt: "j".repeat(300),
      session: { customClaims: { a: 1 } },
    });
    const fast = withFastToBinary(method.output, limited(1000), 1000);
    expect(Buffer.from(fast.serialize(message)).equals(Buffer.from(toBinary(method.output, message)))).toBe(true);
    const tooSmall = withFastToBinary(method.output, limited(100), 100);
    let connectError: unknown;
    try {
      limited(100).serialize(message);
    } catch (err) {
      connectError = err;
    }
    expect(connectError).toBeInstanceOf(Error);
    expect(() => tooSmall.serialize(message)).toThrow(connectError as Error);
  });
});
