import { createRemoteJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, useTestApp } from "../support/test-app.js";

const SERVICE = "tessera.sessions.v1.SessionService";

/** The Connect JSON bodies these tests read (every field of any response they look at). */
interface ConnectBody {
  session: { sessionId: string; userId: string; customClaims: unknown; claimsVersion: string };
  sessionToken: string;
  sessionJwt: string;
  sessions: { sessionId: string }[];
  keys: { kid: string }[];
  code: string;
  details: { type: string; debug: unknown }[];
}

describe.each(backends())("plain HTTP clients on %s", (backend) => {
  const t = useTestApp(backend);

  /** A Connect unary call as plain JSON over HTTP/1.1 with fetch. */
  const connect = async (method: string, body: unknown, apiKey: string | null = TEST_API_KEY) => {
    const res = await fetch(`${t.baseUrl}/${SERVICE}/${method}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as ConnectBody };
  };

  it("speaks Connect JSON with snake_case field names", async () => {
    const created = await connect("CreateSession", {
      user_id: "fetch-snake",
      session_duration_minutes: 30,
      session_custom_claims: { key_1: 1, key_2: 2 },
    });
    expect(created.status).toBe(200);
    expect(created.body.session.userId).toBe("fetch-snake");
    const patched = await connect("AuthenticateSession", {
      session_token: created.body.sessionToken,
      session_custom_claims: { key_1: null, e: { nested: "val" } },
      expected_claims_version: "0",
    });
    expect(patched.status).toBe(200);
    expect(patched.body.session.customClaims).toEqual({ key_2: 2, e: { nested: "val" } });
    expect(patched.body.session.claimsVersion).toBe("1");
  });

  it("speaks Connect JSON with camelCase field names", async () => {
    const created = await connect("CreateSession", { userId: "fetch-camel", sessionCustomClaims: { plan: "free" } });
    expect(created.status).toBe(200);
    const patched = await connect("AuthenticateSession", {
      sessionJwt: created.body.sessionJwt,
      sessionCustomClaims: { plan: "pro" },
      expectedClaimsVersion: "0",
    });
    expect(patched.body.session.customClaims).toEqual({ plan: "pro" });
    const listed = await connect("ListSessions", { userId: "fetch-camel" });
    expect(listed.body.sessions.map((s) => s.sessionId)).toEqual([created.body.session.sessionId]);
    expect((await connect("RevokeSession", { sessionToken: created.body.sessionToken })).status).toBe(200);
  });

  it("answers Connect JSON errors with code, message and the ErrorDetail reason", async () => {
    const missingKey = await connect("ListSessions", { user_id: "x" }, null);
    expect(missingKey.status).toBe(401);
    expect(missingKey.body.code).toBe("unauthenticated");
    const reserved = await connect("CreateSession", { user_id: "x", session_custom_claims: { exp: 1 } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.code).toBe("invalid_argument");
    expect(reserved.body.details[0]?.type).toBe("tessera.sessions.v1.ErrorDetail");
    expect(reserved.body.details[0]?.debug).toMatchObject({ reason: "RESERVED_CLAIM" });
  });

  it("serves a standard JWKS at /.well-known/jwks.json: public members only, cacheable for less than the retired-key window", async () => {
    const res = await fetch(`${t.baseUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(res.headers.get("cache-control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThan(t.app.config.jwtTtlSeconds + 3_600);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    const rpc = await connect("GetJwks", {}, null);
    expect(rpc.body.keys.map((k) => k.kid)).toEqual(jwks.keys.map((k) => k.kid));
  });

  it("jose.createRemoteJWKSet on /.well-known/jwks.json verifies a minted session JWT and its claims", async () => {
    const created = await connect("CreateSession", {
      user_id: "jose-user",
      session_custom_claims: { plan: "pro", org: { id: "org-1" } },
      roles: ["admin"],
    });
    const jwks = createRemoteJWKSet(new URL(`${t.baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(created.body.sessionJwt, jwks, {
      issuer: "tessera",
      audience: "tessera",
      algorithms: ["ES256"],
    });
    expect(protectedHeader.typ).toBe("JWT");
    expect(payload.sub).toBe("jose-user");
    expect(payload.plan).toBe("pro");
    expect(payload.org).toEqual({ id: "org-1" });
    expect(payload["https://tessera.dev/session"]).toMatchObject({
      id: created.body.session.sessionId,
      roles: ["admin"],
    });
    await expect(jwtVerify(`${created.body.sessionJwt}x`, jwks)).rejects.toThrow();
  });
});
