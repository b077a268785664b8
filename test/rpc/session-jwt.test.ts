import { Code } from "@connectrpc/connect";
import { decodeProtectedHeader, errors, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JwtAlgorithm, parseConfig } from "../../src/config.js";
import { backends } from "../support/backends.js";
import { startSiblingApp } from "../support/sibling-app.js";
import { PROTOCOLS, startTestApp, type TestApp, useTestApp } from "../support/test-app.js";
import { date, expectFailure, jwtPayload, MINUTE, testClock, verifyWithJwks } from "./helpers.js";

const T0 = new Date("2032-02-03T04:05:06.789Z");
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

describe.each(backends())("session JWTs on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(backend, {}, { clock });

  it.each(
    PROTOCOLS,
  )("carry the header, registered claims, session claim and custom claims (over %s)", async (protocol) => {
    const client = t.client(protocol);
    const created = await client.createSession({
      userId: `jwt-${protocol}`,
      attributes: { ipAddress: "198.51.100.4", userAgent: "Mozilla/5.0" },
      roles: ["viewer"],
      sessionCustomClaims: { plan: "pro", org: { id: 7, tags: ["x"] } },
    });
    const { payload, protectedHeader } = await verifyWithJwks(client, created.sessionJwt, { currentDate: clock() });
    const { keys } = await client.getJwks({});
    expect(protectedHeader).toEqual({ alg: "ES256", kid: keys[0]?.kid, typ: "JWT" });
    const iat = seconds(clock());
    const session = created.session;
    expect(payload).toEqual({
      iss: "tessera",
      aud: "tessera",
      sub: `jwt-${protocol}`,
      iat,
      nbf: iat,
      exp: iat + 300,
      "https://tessera.dev/session": {
        id: session?.sessionId,
        started_at: date(session?.startedAt).toISOString(),
        last_accessed_at: date(session?.lastAccessedAt).toISOString(),
        expires_at: date(session?.expiresAt).toISOString(),
        attributes: { ip_address: "198.51.100.4", user_agent: "Mozilla/5.0" },
        roles: ["viewer"],
        claims_version: 0,
      },
      plan: "pro",
      org: { id: 7, tags: ["x"] },
    });
    const sessionClaim = payload["https://tessera.dev/session"] as Record<string, string>;
    for (const field of ["started_at", "last_accessed_at", "expires_at"]) {
      expect(sessionClaim[field]).toMatch(RFC3339);
    }
    expect(sessionClaim.expires_at).toBe(new Date(clock().getTime() + 60 * MINUTE).toISOString());
  });

  it("exp is iat + 300 while the session lasts longer, and the session's expiry when that comes first", async () => {
    const client = t.client("grpc");
    const created = await client.createSession({ userId: "exp", sessionDurationMinutes: 5 });
    const createdAt = clock();
    // At creation a 5-minute session and a 300-second JWT end together.
    expect(jwtPayload(created.sessionJwt).exp).toBe(seconds(createdAt) + 300);
    clock.advance(3 * MINUTE);
    const later = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    const { payload } = await verifyWithJwks(client, later.sessionJwt, { currentDate: clock() });
    expect(payload.iat).toBe(seconds(clock()));
    expect(payload.exp).toBe(seconds(new Date(createdAt.getTime() + 5 * MINUTE)));
    expect(payload.exp).toBe((payload.iat ?? 0) + 120);
    // Extending the session lets the JWT run its full TTL again.
    const extended = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
      sessionDurationMinutes: 60,
    });
    expect(jwtPayload(extended.sessionJwt).exp).toBe(seconds(clock()) + 300);
  });

  it("old JWTs keep the claims they were minted with after later patches", async () => {
    const client = t.client("grpc-web");
    const created = await client.createSession({ userId: "old-jwts", sessionCustomClaims: { v: 1, keep: true } });
    const second = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
      sessionCustomClaims: { v: 2 },
    });
    const third = await client.authenticateSession({
      credential: { case: "sessionJwt", value: created.sessionJwt },
      sessionCustomClaims: { v: null, w: 3 },
    });
    const at = { currentDate: clock() };
    expect((await verifyWithJwks(client, created.sessionJwt, at)).payload).toMatchObject({ v: 1, keep: true });
    expect((await verifyWithJwks(client, second.sessionJwt, at)).payload).toMatchObject({ v: 2, keep: true });
    const newest = (await verifyWithJwks(client, third.sessionJwt, at)).payload;
    expect(newest).toMatchObject({ keep: true, w: 3 });
    expect(newest).not.toHaveProperty("v");
    // Authenticating with the oldest JWT yields a JWT with the current claims.
    const refreshed = await client.authenticateSession({
      credential: { case: "sessionJwt", value: created.sessionJwt },
    });
    expect(jwtPayload(refreshed.sessionJwt)).toMatchObject({ keep: true, w: 3 });
    expect(jwtPayload(refreshed.sessionJwt)).not.toHaveProperty("v");
  });

  it.each(PROTOCOLS)("an expired JWT of an active session refreshes (over %s)", async (protocol) => {
    const client = t.client(protocol);
    const created = await client.createSession({ userId: "refresh", sessionCustomClaims: { a: 1 } });
    clock.advance(10 * MINUTE);
    await expect(verifyWithJwks(client, created.sessionJwt, { currentDate: clock() })).rejects.toBeInstanceOf(
      errors.JWTExpired,
    );
    const refreshed = await client.authenticateSession({
      credential: { case: "sessionJwt", value: created.sessionJwt },
      sessionCustomClaims: { b: 2 },
    });
    expect(refreshed.session?.sessionId).toBe(created.session?.sessionId);
    const { payload } = await verifyWithJwks(client, refreshed.sessionJwt, { currentDate: clock() });
    expect(payload).toMatchObject({ a: 1, b: 2, exp: seconds(clock()) + 300 });
  });

  it.each(PROTOCOLS)("the JWT of a revoked session is NOT_FOUND (over %s)", async (protocol) => {
    const client = t.client(protocol);
    const created = await client.createSession({ userId: "revoked-jwt" });
    await client.revokeSession({ target: { case: "sessionToken", value: created.sessionToken } });
    await expectFailure(
      client.authenticateSession({ credential: { case: "sessionJwt", value: created.sessionJwt } }),
      Code.NotFound,
      "SESSION_NOT_FOUND",
    );
  });

  it("a JWT signed by a foreign key under this instance's kid is INVALID_SESSION_JWT", async () => {
    const client = t.client("connect");
    const created = await client.createSession({ userId: "forged" });
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT(jwtPayload(created.sessionJwt))
      .setProtectedHeader(decodeProtectedHeader(created.sessionJwt) as { alg: string })
      .sign(privateKey);
    expect(decodeProtectedHeader(forged)).toEqual(decodeProtectedHeader(created.sessionJwt));
    await expectFailure(
      client.authenticateSession({ credential: { case: "sessionJwt", value: forged } }),
      Code.Unauthenticated,
      "INVALID_SESSION_JWT",
    );
  });

  describe("another Tessera instance", () => {
    let other: TestApp;
    beforeAll(async () => {
      other = await startTestApp(backend, {}, { clock });
    });
    afterAll(() => other?.close());

    it.each(PROTOCOLS)("its JWTs (another key) are INVALID_SESSION_JWT here (over %s)", async (protocol) => {
      const foreign = await other.client(protocol).createSession({ userId: "foreign" });
      await expectFailure(
        t.client(protocol).authenticateSession({ credential: { case: "sessionJwt", value: foreign.sessionJwt } }),
        Code.Unauthenticated,
        "INVALID_SESSION_JWT",
      );
      await expectFailure(
        t.client(protocol).revokeSession({ target: { case: "sessionJwt", value: foreign.sessionJwt } }),
        Code.Unauthenticated,
        "INVALID_SESSION_JWT",
      );
    });

    const algorithms: Array<[JwtAlgorithm, Record<string, string>]> = [
      ["EdDSA", { kty: "OKP", crv: "Ed25519" }],
      ["RS256", { kty: "RSA", e: "AQAB" }],
    ];
    it.each(algorithms)("JWT_ALGORITHM=%s signs, publishes and verifies", async (algorithm, jwkShape) => {
      const before = await other.client().createSession({ userId: "before-rotation" });
      const sibling = await startSiblingApp(other, {
        jwtAlgorithm: parseConfig({ JWT_ALGORITHM: algorithm }).jwtAlgorithm,
      });
      try {
        const client = sibling.client("grpc");
        const created = await client.createSession({ userId: `alg-${algorithm}`, sessionCustomClaims: { a: 1 } });
        const { keys } = await client.getJwks({});
        const active = keys.find((key) => key.alg === algorithm);
        expect(active).toMatchObject({ ...jwkShape, use: "sig" });
        const { payload, protectedHeader } = await verifyWithJwks(client, created.sessionJwt, { currentDate: clock() });
        expect(protectedHeader).toEqual({ alg: algorithm, kid: active?.kid, typ: "JWT" });
        expect(payload).toMatchObject({ iss: "tessera", aud: "tessera", sub: `alg-${algorithm}`, a: 1 });
        // The service verifies its own new signatures, and still those of the key it retired.
        const authed = await client.authenticateSession({
          credential: { case: "sessionJwt", value: created.sessionJwt },
        });
        expect(authed.session?.sessionId).toBe(created.session?.sessionId);
        const old = await client.authenticateSession({ credential: { case: "sessionJwt", value: before.sessionJwt } });
        expect(old.session?.sessionId).toBe(before.session?.sessionId);
        expect(keys.length).toBeGreaterThanOrEqual(2);
      } finally {
        await sibling.close();
      }
    });
  });
});
