import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { PROTOCOLS, useTestApp } from "../support/test-app.js";
import { date, expectFailure, jwtPayload, MINUTE, storedRow, testClock } from "./helpers.js";

const T0 = new Date("2030-05-06T07:08:09.250Z");

describe.each(backends())("SessionService RPCs on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(backend, {}, { clock });

  describe.each(PROTOCOLS)("over %s", (protocol) => {
    it("CreateSession defaults: 60-minute expiry, no claims, no roles, claims_version 0", async () => {
      const now = clock();
      const res = await t.client(protocol).createSession({ userId: `defaults-${protocol}` });
      const s = res.session;
      expect(s?.userId).toBe(`defaults-${protocol}`);
      expect(s?.sessionId).toMatch(/^session-[0-9a-f-]{36}$/);
      expect(date(s?.startedAt)).toEqual(now);
      expect(date(s?.lastAccessedAt)).toEqual(now);
      expect(date(s?.expiresAt)).toEqual(new Date(now.getTime() + 60 * MINUTE));
      expect(s?.customClaims).toEqual({});
      expect(s?.roles).toEqual([]);
      expect(s?.attributes).toMatchObject({ ipAddress: "", userAgent: "" });
      expect(s?.claimsVersion).toBe(0n);
      // 256 random bits in base64url, and a three-part compact JWT.
      expect(res.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.sessionJwt.split(".")).toHaveLength(3);
    });

    it("CreateSession round-trips attributes, roles and custom claims", async () => {
      const claims = { key_1: 1, nested: { list: [1, "two", null, { three: true }] }, text: "ü€😀" };
      const res = await t.client(protocol).createSession({
        userId: `roundtrip-${protocol}`,
        sessionDurationMinutes: 5,
        attributes: { ipAddress: "203.0.113.7", userAgent: "curl/8.5" },
        roles: ["admin", "billing"],
        sessionCustomClaims: claims,
      });
      expect(res.session?.attributes).toMatchObject({ ipAddress: "203.0.113.7", userAgent: "curl/8.5" });
      expect(res.session?.roles).toEqual(["admin", "billing"]);
      expect(res.session?.customClaims).toEqual(claims);
      expect(date(res.session?.expiresAt)).toEqual(new Date(clock().getTime() + 5 * MINUTE));
      const listed = await t.client(protocol).listSessions({ userId: `roundtrip-${protocol}` });
      expect(listed.sessions).toHaveLength(1);
      expect(listed.sessions[0]?.attributes).toMatchObject({ ipAddress: "203.0.113.7", userAgent: "curl/8.5" });
      expect(listed.sessions[0]?.roles).toEqual(["admin", "billing"]);
      expect(listed.sessions[0]?.customClaims).toEqual(claims);
      expect(jwtPayload(res.sessionJwt)).toMatchObject(claims);
    });

    it("CreateSession accepts the duration bounds 5 and 527040 minutes and user ids of 1 and 128 characters", async () => {
      const now = clock().getTime();
      const short = await t.client(protocol).createSession({ userId: "x", sessionDurationMinutes: 5 });
      const long = await t.client(protocol).createSession({ userId: "y".repeat(128), sessionDurationMinutes: 527_040 });
      expect(date(short.session?.expiresAt).getTime()).toBe(now + 5 * MINUTE);
      expect(date(long.session?.expiresAt).getTime()).toBe(now + 527_040 * MINUTE);
      expect(long.session?.userId).toBe("y".repeat(128));
    });

    it("AuthenticateSession by token without a patch touches last_accessed_at only", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: `auth-token-${protocol}`, sessionCustomClaims: { a: 1 } });
      clock.advance(90_000);
      const res = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
      });
      expect(res.sessionToken).toBe(created.sessionToken);
      expect(res.session?.sessionId).toBe(created.session?.sessionId);
      expect(date(res.session?.lastAccessedAt)).toEqual(clock());
      expect(date(res.session?.startedAt)).toEqual(date(created.session?.startedAt));
      expect(date(res.session?.expiresAt)).toEqual(date(created.session?.expiresAt));
      expect(res.session?.customClaims).toEqual({ a: 1 });
      expect(res.session?.claimsVersion).toBe(0n);
      expect(res.sessionJwt).not.toBe(created.sessionJwt);
    });

    it("AuthenticateSession by token with a patch merges it and bumps claims_version", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({
        userId: `auth-patch-${protocol}`,
        sessionCustomClaims: { a: 1, b: 2 },
      });
      const res = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { a: null, c: { d: 3 } },
      });
      expect(res.session?.customClaims).toEqual({ b: 2, c: { d: 3 } });
      expect(res.session?.claimsVersion).toBe(1n);
      expect(jwtPayload(res.sessionJwt)).toMatchObject({ b: 2, c: { d: 3 } });
      expect(jwtPayload(res.sessionJwt)).not.toHaveProperty("a");
    });

    it("AuthenticateSession by JWT, with and without a patch; no token is returned", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: `auth-jwt-${protocol}`, sessionCustomClaims: { a: 1 } });
      clock.advance(1_000);
      const plain = await client.authenticateSession({ credential: { case: "sessionJwt", value: created.sessionJwt } });
      expect(plain.session?.sessionId).toBe(created.session?.sessionId);
      expect(plain.sessionToken).toBe("");
      expect(date(plain.session?.lastAccessedAt)).toEqual(clock());
      expect(plain.session?.claimsVersion).toBe(0n);
      const patched = await client.authenticateSession({
        credential: { case: "sessionJwt", value: plain.sessionJwt },
        sessionCustomClaims: { b: 2 },
      });
      expect(patched.session?.customClaims).toEqual({ a: 1, b: 2 });
      expect(patched.session?.claimsVersion).toBe(1n);
      // The token still names the same session and sees the patch.
      const byToken = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
      });
      expect(byToken.session?.customClaims).toEqual({ a: 1, b: 2 });
    });

    it("AuthenticateSession with session_duration_minutes expires that many minutes from now", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: `auth-duration-${protocol}` });
      clock.advance(7 * MINUTE);
      const longer = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionDurationMinutes: 120,
      });
      expect(date(longer.session?.expiresAt)).toEqual(new Date(clock().getTime() + 120 * MINUTE));
      clock.advance(MINUTE);
      const shorter = await client.authenticateSession({
        credential: { case: "sessionJwt", value: longer.sessionJwt },
        sessionDurationMinutes: 5,
        sessionCustomClaims: { k: "v" },
      });
      expect(date(shorter.session?.expiresAt)).toEqual(new Date(clock().getTime() + 5 * MINUTE));
      expect(date(shorter.session?.lastAccessedAt)).toEqual(clock());
      const row = await storedRow(t, created.session?.sessionId ?? "");
      expect(new Date(row.expires_at)).toEqual(new Date(clock().getTime() + 5 * MINUTE));
    });

    it("AuthenticateSession with a matching expected_claims_version applies the patch", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: `cas-${protocol}` });
      const first = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { n: 1 },
        expectedClaimsVersion: 0n,
      });
      expect(first.session?.claimsVersion).toBe(1n);
      const second = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { n: 2 },
        expectedClaimsVersion: 1n,
      });
      expect(second.session?.customClaims).toEqual({ n: 2 });
      expect(second.session?.claimsVersion).toBe(2n);
    });

    it("ListSessions returns active sessions only, newest first", async () => {
      const client = t.client(protocol);
      const user = `list-${protocol}`;
      const first = await client.createSession({ userId: user });
      clock.advance(1_000);
      const second = await client.createSession({ userId: user });
      clock.advance(1_000);
      const third = await client.createSession({ userId: user });
      clock.advance(1_000);
      const shortLived = await client.createSession({ userId: user, sessionDurationMinutes: 5 });
      await client.createSession({ userId: `${user}-other` });
      const ids = (res: { sessions: { sessionId: string }[] }) => res.sessions.map((s) => s.sessionId);
      expect(ids(await client.listSessions({ userId: user }))).toEqual(
        [shortLived, third, second, first].map((s) => s.session?.sessionId),
      );
      await client.revokeSession({ target: { case: "sessionId", value: second.session?.sessionId ?? "" } });
      clock.advance(5 * MINUTE); // shortLived expires exactly now
      expect(ids(await client.listSessions({ userId: user }))).toEqual([third, first].map((s) => s.session?.sessionId));
      expect((await client.listSessions({ userId: `${user}-nobody` })).sessions).toEqual([]);
    });

    it("RevokeSession by id, by token and by JWT; revoking again succeeds", async () => {
      const client = t.client(protocol);
      const user = `revoke-${protocol}`;
      const byId = await client.createSession({ userId: user });
      const byToken = await client.createSession({ userId: user });
      const byJwt = await client.createSession({ userId: user });
      await client.revokeSession({ target: { case: "sessionId", value: byId.session?.sessionId ?? "" } });
      await client.revokeSession({ target: { case: "sessionToken", value: byToken.sessionToken } });
      await client.revokeSession({ target: { case: "sessionJwt", value: byJwt.sessionJwt } });
      expect((await client.listSessions({ userId: user })).sessions).toEqual([]);
      for (const s of [byId, byToken, byJwt]) {
        await expectFailure(
          client.authenticateSession({ credential: { case: "sessionToken", value: s.sessionToken } }),
          Code.NotFound,
          "SESSION_NOT_FOUND",
        );
      }
      // A second revoke, by any credential, succeeds and keeps the first revocation time.
      const revokedAt = (await storedRow(t, byId.session?.sessionId ?? "")).revoked_at;
      expect(revokedAt).not.toBeNull();
      clock.advance(1_000);
      await client.revokeSession({ target: { case: "sessionId", value: byId.session?.sessionId ?? "" } });
      await client.revokeSession({ target: { case: "sessionToken", value: byId.sessionToken } });
      await client.revokeSession({ target: { case: "sessionJwt", value: byId.sessionJwt } });
      expect((await storedRow(t, byId.session?.sessionId ?? "")).revoked_at).toEqual(revokedAt);
    });

    it("RevokeSession of an unknown session is NOT_FOUND", async () => {
      const client = t.client(protocol);
      await expectFailure(
        client.revokeSession({ target: { case: "sessionId", value: "session-00000000-0000-0000-0000-000000000000" } }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
      await expectFailure(
        client.revokeSession({ target: { case: "sessionToken", value: "A".repeat(43) } }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
    });

    it("GetJwks needs no API key and publishes only public parameters", async () => {
      const { keys } = await t.client(protocol, null).getJwks({});
      expect(keys).toHaveLength(1);
      const key = keys[0];
      expect(key).toMatchObject({ kty: "EC", use: "sig", alg: "ES256", crv: "P-256", n: "", e: "" });
      expect(key?.kid).toMatch(/^[0-9a-f-]{36}$/);
      // P-256 coordinates are 32 bytes: 43 base64url characters.
      expect(key?.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key?.y).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  });

  describe("sessions that ended", () => {
    it("an expired session is NOT_FOUND by token and by JWT, and no longer listed", async () => {
      const client = t.client("connect");
      const created = await client.createSession({ userId: "expiring", sessionDurationMinutes: 5 });
      clock.advance(5 * MINUTE - 1);
      await client.authenticateSession({ credential: { case: "sessionToken", value: created.sessionToken } });
      clock.advance(1);
      for (const credential of [
        { case: "sessionToken", value: created.sessionToken },
        { case: "sessionJwt", value: created.sessionJwt },
      ] as const) {
        await expectFailure(client.authenticateSession({ credential }), Code.NotFound, "SESSION_NOT_FOUND");
      }
      expect((await client.listSessions({ userId: "expiring" })).sessions).toEqual([]);
    });

    it("an unknown token is NOT_FOUND", async () => {
      await expectFailure(
        t.client("grpc").authenticateSession({ credential: { case: "sessionToken", value: "no-such-token" } }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
    });
  });

  describe("concurrency within one instance", () => {
    it("20 concurrent patches of distinct keys on one session all land", async () => {
      const client = t.client("grpc");
      const created = await client.createSession({ userId: "concurrent" });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.client(PROTOCOLS[i % PROTOCOLS.length]).authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            sessionCustomClaims: { [`k${i}`]: i },
          }),
        ),
      );
      const res = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
      });
      expect(res.session?.customClaims).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])));
      expect(res.session?.claimsVersion).toBe(20n);
    });
  });
});
