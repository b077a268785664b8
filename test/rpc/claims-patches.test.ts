import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
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

    it("sent as raw Connect JSON, cannot pollute Object.prototype (protobuf-es drops the key from a Struct)", async () => {
      const res = await fetch(`${t.baseUrl}/tessera.sessions.v1.SessionService/CreateSession`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: '{"userId": "proto-wire", "sessionCustomClaims": {"__proto__": {"polluted": true}, "plain": 1}}',
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { session: { customClaims: Record<string, unknown> } };
      expect(body.session.customClaims.plain).toBe(1);
      // protobuf-es stores Struct fields in a plain object, so "__proto__" never reaches the handler.
      expect(Object.hasOwn(body.session.customClaims, "__proto__")).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});
