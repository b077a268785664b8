import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { rawGrpcCall, wire } from "../hostile/hostile-support.js";
import { backends } from "../support/backends.js";
import { storedClaims } from "../support/stored-claims.js";
import { PROTOCOLS, type Protocol, TEST_API_KEY, useTestApp } from "../support/test-app.js";
import { jwtPayload, storedRow } from "./helpers.js";

const SERVICE_CLAIMS = new Set(["iss", "aud", "sub", "iat", "nbf", "exp", "https://tessera.dev/session"]);

// Examples of Stytch's "Adding custom claims to sessions" (shared/seed/custom-claims.txt), through the server.
describe.each(backends())("custom claims patches through the server on %s", (backend) => {
  const t = useTestApp(backend);

  /** Creates a session with `initial` claims and returns a function applying one patch by AuthenticateSession. */
  async function session(protocol: Protocol, initial: JsonObject = {}) {
    const client = t.client(protocol);
    const created = await client.createSession({ userId: `claims-${protocol}`, sessionCustomClaims: initial });
    expect(created.session?.customClaims).toEqual(initial);
    return {
      id: created.session?.sessionId ?? "",
      async patch(patch: JsonObject): Promise<JsonObject> {
        const res = await client.authenticateSession({
          credential: { case: "sessionToken", value: created.sessionToken },
          sessionCustomClaims: patch,
        });
        const claims = res.session?.customClaims ?? {};
        // The new JWT carries exactly the stored claims at its top level.
        const inJwt = Object.fromEntries(
          Object.entries(jwtPayload(res.sessionJwt)).filter(([key]) => !SERVICE_CLAIMS.has(key)),
        );
        expect(inJwt).toEqual(claims);
        return claims;
      },
    };
  }

  describe.each(PROTOCOLS)("over %s", (protocol) => {
    it("seed: adding key_1 and key_2 to an empty claims object, then updating key_1 to 9", async () => {
      const s = await session(protocol);
      expect(await s.patch({ key_1: 1, key_2: 2 })).toEqual({ key_1: 1, key_2: 2 });
      expect(await s.patch({ key_1: 9 })).toEqual({ key_1: 9, key_2: 2 });
    });

    it("seed: deleting key_1 with a null value", async () => {
      const s = await session(protocol, { key_1: 1, key_2: 2 });
      expect(await s.patch({ key_1: null })).toEqual({ key_2: 2 });
    });

    it("seed: working with nested objects (inferred start {b: 2, d: 4})", async () => {
      const s = await session(protocol, { b: 2, d: 4 });
      expect(await s.patch({ b: null, c: 3.5, e: { nested1: "val1", nested2: "val2" } })).toEqual({
        c: 3.5,
        d: 4,
        e: { nested1: "val1", nested2: "val2" },
      });
      expect(await s.patch({ e: { nested1: null, nested3: "val3" } })).toEqual({
        c: 3.5,
        d: 4,
        e: { nested2: "val2", nested3: "val3" },
      });
      const row = await storedRow(t, s.id);
      expect(storedClaims(row.claims_overlay)).toEqual({ c: 3.5, d: 4, e: { nested2: "val2", nested3: "val3" } });
      expect(String(row.claims_version)).toBe("2");
    });

    it("nested merge: objects merge at every depth, arrays and scalars replace, null in an array is data", async () => {
      const s = await session(protocol, {
        org: { id: 7, team: { name: "core", tags: ["a", "b"], lead: { id: 1, name: "x" } } },
        flag: true,
        list: [1, 2, 3],
      });
      expect(
        await s.patch({
          org: { team: { tags: ["c"], lead: { name: null, since: "2024" } }, region: "eu" },
          flag: { now: "an object" },
          list: [null, { k: null }],
        }),
      ).toEqual({
        org: { id: 7, team: { name: "core", tags: ["c"], lead: { id: 1, since: "2024" } }, region: "eu" },
        flag: { now: "an object" },
        list: [null, { k: null }],
      });
      // An object replaces a scalar and a scalar replaces an object.
      expect(await s.patch({ org: "flat", flag: false })).toEqual({
        org: "flat",
        flag: false,
        list: [null, { k: null }],
      });
    });

    it("constructor and prototype are ordinary keys, and Object.prototype is untouched", async () => {
      const s = await session(protocol, { constructor: { prototype: { x: 1 } } });
      expect(await s.patch({ prototype: { polluted: true }, constructor: { prototype: { y: 2 } } })).toEqual({
        constructor: { prototype: { x: 1, y: 2 } },
        prototype: { polluted: true },
      });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });
  });

  describe("__proto__", () => {
    const PROTO_CLAIMS = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}') as JsonObject;

    it("is stored and returned as data by the session service and its database", async () => {
      const issued = await t.app.sessions.create({
        userId: "proto",
        durationMinutes: 60,
        customClaims: PROTO_CLAIMS,
        attributes: { ipAddress: "", userAgent: "" },
        roles: [],
      });
      const patch = JSON.parse('{"__proto__": {"more": 2}}') as JsonObject;
      const authed = await t.app.sessions.authenticate({
        credential: { kind: "token", token: issued.sessionToken ?? "" },
        durationMinutes: undefined,
        patch,
        expectedClaimsVersion: undefined,
      });
      // jsonb orders keys by length, so compare own keys as a set.
      const claims = authed.session.customClaims;
      expect(Object.keys(claims).sort()).toEqual(["__proto__", "plain"]);
      expect(Object.getOwnPropertyDescriptor(claims, "__proto__")?.value).toEqual({ polluted: true, more: 2 });
      expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
      const row = await storedRow(t, issued.session.id);
      expect(Object.hasOwn(storedClaims(row.claims_overlay), "__proto__")).toBe(true);
      expect(JSON.stringify(row.claims_overlay)).toContain('"__proto__":');
      expect(jwtPayload(authed.sessionJwt).__proto__).toEqual({ polluted: true, more: 2 });
      expect(Object.hasOwn(jwtPayload(authed.sessionJwt), "__proto__")).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    // The typed clients below encode with protobuf-es in this process, where the app has removed the
    // Object.prototype.__proto__ accessor as well (src/rpc/proto-accessor.ts); the raw JSON and hand-built
    // binary requests after them show the server does not depend on the client for it.
    it.each(
      PROTOCOLS,
    )("arrives intact over %s, nested too, and comes back in every response, the row and the JWT", async (protocol) => {
      const client = t.client(protocol);
      const claims = JSON.parse(
        '{"__proto__": {"polluted": true, "__proto__": {"deep": 1}}, "plain": 1, "list": [{"__proto__": null}]}',
      ) as JsonObject;
      const created = await client.createSession({ userId: `proto-${protocol}`, sessionCustomClaims: claims });
      expect(created.session?.customClaims).toStrictEqual(claims);
      const patch = JSON.parse('{"__proto__": {"more": 2, "__proto__": {"deep": null}}}') as JsonObject;
      const authed = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: patch,
      });
      const expected = JSON.parse(
        '{"__proto__": {"polluted": true, "more": 2, "__proto__": {}}, "plain": 1, "list": [{"__proto__": null}]}',
      ) as JsonObject;
      expect(authed.session?.customClaims).toStrictEqual(expected);
      expect(authed.session?.claimsVersion).toBe(1n);
      const listed = await client.listSessions({ userId: `proto-${protocol}` });
      expect(listed.sessions[0]?.customClaims).toStrictEqual(expected);
      expect(storedClaims((await storedRow(t, created.session?.sessionId ?? "")).claims_overlay)).toStrictEqual(
        expected,
      );
      expect(jwtPayload(authed.sessionJwt).__proto__).toStrictEqual(expected.__proto__);
      expect(Object.hasOwn(jwtPayload(authed.sessionJwt), "__proto__")).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).more).toBeUndefined();
    });

    it("arrives intact as raw Connect JSON, and comes back in the JSON response", async () => {
      const res = await fetch(`${t.baseUrl}/tessera.sessions.v1.SessionService/CreateSession`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: '{"userId": "proto-wire", "sessionCustomClaims": {"__proto__": {"polluted": true}, "plain": 1}}',
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('"__proto__":{"polluted":true}');
      const body = JSON.parse(text) as { session: { sessionId: string; customClaims: Record<string, unknown> } };
      expect(Object.hasOwn(body.session.customClaims, "__proto__")).toBe(true);
      expect(storedClaims((await storedRow(t, body.session.sessionId)).claims_overlay)).toStrictEqual(
        JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}'),
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it("arrives intact from hand-built gRPC binary, at the top and nested", async () => {
      const created = await t.client("grpc").createSession({ userId: "proto-binary" });
      const utf8 = (text: string) => new TextEncoder().encode(text);
      // Struct { fields: { "__proto__": Value { struct_value: Struct { fields: { "__proto__": Value { bool_value: true } } } } } }
      const entry = (key: string, value: Uint8Array) =>
        wire.field(1, wire.concat(wire.field(1, utf8(key)), wire.field(2, value)));
      const inner = entry("__proto__", new Uint8Array([0x20, 0x01]));
      const struct = entry("__proto__", wire.field(5, inner));
      const message = wire.concat(wire.field(1, utf8(created.sessionToken)), wire.field(4, struct));
      expect(await rawGrpcCall(t.baseUrl, "AuthenticateSession", message)).toMatchObject({ code: "ok" });
      const row = await storedRow(t, created.session?.sessionId ?? "");
      expect(storedClaims(row.claims_overlay)).toStrictEqual(JSON.parse('{"__proto__": {"__proto__": true}}'));
      expect(String(row.claims_version)).toBe("1");
    });
  });
});
