import { createPublicKey, type JsonWebKey, verify } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/claims/json.js";
import type { JwtAlgorithm } from "../../src/config.js";
import { toJwks } from "../../src/keys/jwks.js";
import type { Session } from "../../src/sessions/session.js";
import { backends } from "../support/backends.js";
import { useTestApp } from "../support/test-app.js";

const ALGORITHMS: readonly JwtAlgorithm[] = ["ES256", "EdDSA", "RS256"];

const CLAIMS: readonly JsonObject[] = [
  {},
  { plan: "pro", n: 1.5, nested: { list: [1, "two", null, true] } },
  { text: 'quote " backslash \\ control \u0001 é 😀', long: "x".repeat(1500) },
];

function sessionWith(customClaims: JsonObject, i: number): Session {
  const startedAt = new Date(Date.now() - 60_000);
  return {
    id: `session-test-${i}`,
    userId: `user-${i}`,
    startedAt,
    lastAccessedAt: new Date(startedAt.getTime() + 123),
    expiresAt: new Date(Date.now() + 3_600_000),
    revokedAt: null,
    attributes: { ipAddress: "203.0.113.9", userAgent: "ua/1 é" },
    roles: i % 2 === 0 ? [] : ["admin", "reader"],
    customClaims,
    claimsVersion: 0n,
  };
}

describe.each(backends())("session JWTs signed with node:crypto (%s)", (backend) => {
  describe.each(ALGORITHMS)("%s", (alg) => {
    const t = useTestApp(backend, { JWT_ALGORITHM: alg, KEY_ROTATION_MIN_INTERVAL_SECONDS: "0" });

    it("verify with jose against the published JWKS, and are exactly as long as length() says", async () => {
      const jwks = createLocalJWKSet(toJwks(t.app.keys.published()));
      for (const [i, claims] of CLAIMS.entries()) {
        const session = sessionWith(claims, i);
        const jwt = await t.app.jwts.mint(session);
        expect(jwt).toHaveLength(t.app.jwts.length(session));
        expect(decodeProtectedHeader(jwt)).toEqual({ alg, kid: t.app.keys.active().kid, typ: "JWT" });
        const { payload } = await jwtVerify(jwt, jwks, { issuer: "tessera", audience: "tessera", algorithms: [alg] });
        expect(payload.sub).toBe(session.userId);
        for (const [name, value] of Object.entries(claims)) expect(payload[name]).toEqual(value);
        await expect(t.app.jwts.verify(jwt)).resolves.toEqual({ sessionId: session.id, userId: session.userId });
      }
    });

    it("carries the JWS signature form of its algorithm (ES256 as r‖s, not DER)", async () => {
      const jwt = await t.app.jwts.mint(sessionWith({ a: 1 }, 0));
      const [header, payload, signature] = jwt.split(".") as [string, string, string];
      const bytes = Buffer.from(signature, "base64url");
      const publicJwk = toJwks(t.app.keys.published()).keys[0];
      const key = createPublicKey({ key: publicJwk as JsonWebKey, format: "jwk" });
      const data = Buffer.from(`${header}.${payload}`, "ascii");
      if (alg === "ES256") {
        expect(bytes).toHaveLength(64);
        expect(verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, bytes)).toBe(true);
      } else if (alg === "EdDSA") {
        expect(bytes).toHaveLength(64);
        expect(verify(null, data, key, bytes)).toBe(true);
      } else {
        expect(bytes).toHaveLength(Buffer.from(publicJwk?.n as string, "base64url").length);
        expect(verify("sha256", data, key, bytes)).toBe(true);
      }
    });

    it("still verify after a rotation, signed by the new key", async () => {
      const before = t.app.keys.active().kid;
      const { kid } = await t.app.keys.rotate();
      expect(kid).not.toBe(before);
      const session = sessionWith({ after: "rotation" }, 3);
      const jwt = await t.app.jwts.mint(session);
      expect(decodeProtectedHeader(jwt).kid).toBe(kid);
      expect(jwt).toHaveLength(t.app.jwts.length(session));
      const jwks = createLocalJWKSet(toJwks(t.app.keys.published()));
      await expect(jwtVerify(jwt, jwks, { issuer: "tessera", audience: "tessera" })).resolves.toBeDefined();
    });
  });
});
