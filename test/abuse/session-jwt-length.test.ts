import { Code } from "@connectrpc/connect";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { JwtAlgorithm } from "../../src/config.js";
import { expectFailure, testClock } from "../rpc/helpers.js";
import { basic, PROJECT_ID } from "../stytch/helpers.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, type TestApp, useTestApp } from "../support/test-app.js";

/** The longest credential AuthenticateSession accepts, and so the longest JWT Tessera may mint. */
const LIMIT = 8192;
const ALGORITHMS: readonly JwtAlgorithm[] = ["ES256", "EdDSA", "RS256"];
/** 1024 characters that JSON escapes to two each. */
const QUOTES = '"'.repeat(1024);

/** The stored row of a session, as PostgreSQL prints it, for a byte-for-byte comparison. */
async function rowText(t: TestApp, sessionId: string): Promise<string> {
  const { rows } = await sql<{
    row: string;
  }>`select s::text as row from sessions s where session_id = ${sessionId}`.execute(t.app.database.db);
  expect(rows).toHaveLength(1);
  return rows[0]?.row ?? "";
}

async function storedCount(t: TestApp, userId: string): Promise<number> {
  return (await t.app.database.db.selectFrom("sessions").select("session_id").where("user_id", "=", userId).execute())
    .length;
}

/**
 * The largest claim length `fits(n)` accepts, by bisection over 0..hi (fits(0) must hold).
 * Bounded: about log2(hi) calls.
 */
async function largestAccepted(hi: number, fits: (n: number) => Promise<boolean>): Promise<number> {
  let lo = 0;
  let high = hi;
  while (lo < high) {
    const mid = Math.ceil((lo + high) / 2);
    if (await fits(mid)) lo = mid;
    else high = mid - 1;
  }
  return lo;
}

describe.each(backends())("every session JWT Tessera mints, it accepts back, on %s", (backend) => {
  describe.each(ALGORITHMS)("with %s", (algorithm) => {
    const clock = testClock(new Date("2031-09-10T11:12:13.000Z"));
    const t = useTestApp(backend, { JWT_ALGORITHM: algorithm, MAX_SESSIONS_PER_USER: "1000" }, { clock });

    it("refuses 100 roles of 128 characters at create, writing nothing", async () => {
      const userId = `roles-${algorithm}`;
      const refused = await expectFailure(
        t.client("grpc").createSession({
          userId,
          roles: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(128, "r")),
        }),
        Code.InvalidArgument,
        "SESSION_JWT_TOO_LARGE",
      );
      expect(Object.keys(refused.metadata).sort()).toEqual(["limit", "size"]);
      expect(refused.metadata.limit).toBe(String(LIMIT));
      expect(Number(refused.metadata.size)).toBeGreaterThan(18_000);
      expect(await storedCount(t, userId)).toBe(0);
    });

    it('refuses 4 KB of claims with a 1024-character user agent of " at create, writing nothing', async () => {
      const userId = `quotes-${algorithm}`;
      // {"a":"…"} is exactly 4096 bytes of compact JSON: the claims limit itself.
      const claims = { a: "x".repeat(4096 - 8) };
      const refused = await expectFailure(
        t.client("connect").createSession({ userId, sessionCustomClaims: claims, attributes: { userAgent: QUOTES } }),
        Code.InvalidArgument,
        "SESSION_JWT_TOO_LARGE",
      );
      expect(Number(refused.metadata.size)).toBeGreaterThan(LIMIT);
      expect(refused.message).not.toContain("xxxx");
      expect(await storedCount(t, userId)).toBe(0);
    });

    it("refuses a patch that would cross the limit, leaving the stored row byte-identical", async () => {
      const client = t.client("grpc");
      const created = await client.createSession({
        userId: `patch-${algorithm}`,
        sessionCustomClaims: { a: "x".repeat(2000) },
        attributes: { userAgent: QUOTES },
      });
      const sessionId = created.session?.sessionId ?? "";
      const before = await rowText(t, sessionId);
      clock.advance(60_000);
      for (const credential of [
        { case: "sessionToken", value: created.sessionToken } as const,
        { case: "sessionJwt", value: created.sessionJwt } as const,
      ]) {
        await expectFailure(
          client.authenticateSession({ credential, sessionCustomClaims: { b: "y".repeat(2000) } }),
          Code.InvalidArgument,
          "SESSION_JWT_TOO_LARGE",
        );
        await expectFailure(
          client.authenticateSession({
            credential,
            sessionCustomClaims: { b: "y".repeat(2000) },
            expectedClaimsVersion: 0n,
            sessionDurationMinutes: 90,
          }),
          Code.InvalidArgument,
          "SESSION_JWT_TOO_LARGE",
        );
      }
      expect(await rowText(t, sessionId)).toBe(before);
      // A smaller patch still lands, and its JWT comes back.
      const patched = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { b: "y".repeat(100) },
      });
      expect(patched.sessionJwt.length).toBeLessThanOrEqual(LIMIT);
      await client.authenticateSession({ credential: { case: "sessionJwt", value: patched.sessionJwt } });
    });

    it("a session whose JWT is just under the limit authenticates back by that JWT", async () => {
      const client = t.client("connect");
      const attempt = (n: number) =>
        client.createSession({
          userId: `edge-${algorithm}`,
          sessionDurationMinutes: 600,
          sessionCustomClaims: { a: "x".repeat(n) },
          attributes: { userAgent: QUOTES, ipAddress: "203.0.113.200" },
          roles: ["admin", "billing"],
        });
      let jwt = "";
      const n = await largestAccepted(4000, async (length) => {
        try {
          jwt = (await attempt(length)).sessionJwt;
          return true;
        } catch {
          return false;
        }
      });
      const edge = await attempt(n);
      await expectFailure(attempt(n + 1), Code.InvalidArgument, "SESSION_JWT_TOO_LARGE");
      // One more byte of payload adds one or two base64url characters, so the edge JWT is within two of the limit.
      expect(edge.sessionJwt.length).toBeLessThanOrEqual(LIMIT);
      expect(edge.sessionJwt.length).toBeGreaterThanOrEqual(LIMIT - 2);
      expect(jwt.length).toBeLessThanOrEqual(LIMIT);
      const byJwt = await client.authenticateSession({ credential: { case: "sessionJwt", value: edge.sessionJwt } });
      expect(byJwt.session?.sessionId).toBe(edge.session?.sessionId);
      // Refreshed later, with a longer duration, its JWT keeps the same length and is accepted again.
      clock.advance(3_600_000);
      const again = await client.authenticateSession({
        credential: { case: "sessionJwt", value: byJwt.sessionJwt },
        sessionDurationMinutes: 527_040,
      });
      expect(again.sessionJwt.length).toBe(edge.sessionJwt.length);
      await client.authenticateSession({ credential: { case: "sessionJwt", value: again.sessionJwt } });
    });
  });

  describe("the Stytch dialect and JWT profile (RS256)", () => {
    const t = useTestApp(backend, { STYTCH_PROJECT_ID: PROJECT_ID, JWT_PROFILE: "stytch" });
    const post = (path: string, body: unknown) =>
      fetch(`${t.baseUrl}${path}`, {
        method: "POST",
        headers: { authorization: basic(PROJECT_ID, TEST_API_KEY), "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("refuses both examples with 400 session_jwt_too_large, writing nothing", async () => {
      for (const body of [
        { user_id: "stytch-roles", roles: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(128, "r")) },
        {
          user_id: "stytch-quotes",
          session_custom_claims: { a: "x".repeat(4088) },
          attributes: { user_agent: QUOTES },
        },
      ]) {
        const res = await post("/v1/sessions/tessera/create", body);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ status_code: 400, error_type: "session_jwt_too_large" });
        expect(await storedCount(t, body.user_id)).toBe(0);
      }
    });

    it("refuses a patch through sessions.authenticate that would cross the limit, leaving the row as it was", async () => {
      const res = await post("/v1/sessions/tessera/create", {
        user_id: "stytch-patch",
        session_custom_claims: { a: "x".repeat(2000) },
        attributes: { user_agent: QUOTES },
      });
      const created = (await res.json()) as { session: { session_id: string }; session_token: string };
      const before = await rowText(t, created.session.session_id);
      const refused = await post("/v1/sessions/authenticate", {
        session_token: created.session_token,
        session_custom_claims: { b: "y".repeat(2000) },
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error_type: string }).error_type).toBe("session_jwt_too_large");
      expect(await rowText(t, created.session.session_id)).toBe(before);
    });
  });
});
