import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESERVED_CLAIMS } from "../../src/claims/index.js";
import { backends } from "../support/backends.js";
import { type SiblingApp, startSiblingApp } from "../support/sibling-app.js";
import { storedClaims } from "../support/stored-claims.js";
import { PROTOCOLS, TEST_API_KEY, useTestApp } from "../support/test-app.js";
import { expectFailure, MINUTE, storedRow, testClock } from "./helpers.js";

const T0 = new Date("2031-01-02T03:04:05.000Z");

/** Claims nested `levels` deep, counting the claims object as level 1. */
function nestedClaims(levels: number): JsonObject {
  let value: JsonObject = {};
  for (let level = 2; level < levels; level++) value = { n: value };
  return levels === 1 ? {} : { n: value };
}

describe.each(backends())("SessionService errors on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(backend, {}, { clock });

  describe.each(PROTOCOLS)("over %s", (protocol) => {
    const token = (value: string) => ({ case: "sessionToken", value }) as const;

    it.each([
      ...RESERVED_CLAIMS.map((claim) => [claim, "RESERVED_CLAIM"]),
      ["https://tessera.dev/session", "RESERVED_NAMESPACE_CLAIM"],
      ["https://tessera.dev/role", "RESERVED_NAMESPACE_CLAIM"],
    ])("%s is refused with %s, at creation and in a patch, also with a null value", async (claim, reason) => {
      const client = t.client(protocol);
      const atCreate = await expectFailure(
        client.createSession({ userId: "u", sessionCustomClaims: { ok: 1, [claim]: "v" } }),
        Code.InvalidArgument,
        reason,
      );
      expect(atCreate.metadata).toEqual({ claim });
      expect(atCreate.message).toContain(claim);
      const created = await client.createSession({ userId: "u" });
      for (const value of ["v", null]) {
        const inPatch = await expectFailure(
          client.authenticateSession({
            credential: token(created.sessionToken),
            sessionCustomClaims: { [claim]: value },
          }),
          Code.InvalidArgument,
          reason,
        );
        expect(inPatch.metadata).toEqual({ claim });
      }
    });

    it("CLAIMS_TOO_LARGE states the size and the limit, at creation and when a patch grows the claims", async () => {
      const client = t.client(protocol);
      const big = { big: "x".repeat(4090) }; // {"big":"…"} is 4100 bytes
      const atCreate = await expectFailure(
        client.createSession({ userId: "u", sessionCustomClaims: big }),
        Code.InvalidArgument,
        "CLAIMS_TOO_LARGE",
      );
      expect(atCreate.metadata).toEqual({ size: "4100", limit: "4096" });
      expect(atCreate.message).toContain("4100");
      expect(atCreate.message).toContain("4096");
      // Exactly at the limit is accepted; one more byte through a patch is not.
      const atLimit = { a: "y".repeat(4096 - '{"a":""}'.length) };
      const created = await client.createSession({ userId: "u", sessionCustomClaims: atLimit });
      const grown = await expectFailure(
        client.authenticateSession({ credential: token(created.sessionToken), sessionCustomClaims: { b: 1 } }),
        Code.InvalidArgument,
        "CLAIMS_TOO_LARGE",
      );
      expect(grown.metadata).toEqual({ size: String(4096 + ',"b":1'.length), limit: "4096" });
      // Multi-byte characters count in UTF-8 bytes: 1366 × "€" (3 bytes) is 4098 + 8 bytes of JSON.
      const utf8 = await expectFailure(
        client.createSession({ userId: "u", sessionCustomClaims: { a: "€".repeat(1366) } }),
        Code.InvalidArgument,
        "CLAIMS_TOO_LARGE",
      );
      expect(utf8.metadata.size).toBe(String(1366 * 3 + '{"a":""}'.length));
    });

    it("INVALID_CLAIMS for claims nested deeper than 32 levels; 32 levels are accepted", async () => {
      const client = t.client(protocol);
      const ok = await client.createSession({ userId: "u", sessionCustomClaims: nestedClaims(32) });
      expect(ok.session?.customClaims).toEqual(nestedClaims(32));
      const tooDeep = await expectFailure(
        client.createSession({ userId: "u", sessionCustomClaims: nestedClaims(33) }),
        Code.InvalidArgument,
        "INVALID_CLAIMS",
      );
      expect(tooDeep.metadata).toEqual({ max_depth: "32" });
      await expectFailure(
        client.authenticateSession({
          credential: token(ok.sessionToken),
          sessionCustomClaims: { deep: nestedClaims(32) },
        }),
        Code.InvalidArgument,
        "INVALID_CLAIMS",
      );
    });

    it("INVALID_USER_ID for an empty user id and one of 129 characters, on CreateSession and ListSessions", async () => {
      const client = t.client(protocol);
      for (const userId of ["", "u".repeat(129)]) {
        const created = await expectFailure(client.createSession({ userId }), Code.InvalidArgument, "INVALID_USER_ID");
        expect(created.metadata).toEqual({ length: String(userId.length) });
        await expectFailure(client.listSessions({ userId }), Code.InvalidArgument, "INVALID_USER_ID");
      }
    });

    it("INVALID_SESSION_DURATION for 4 and 527041 minutes, on CreateSession and AuthenticateSession", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: "u" });
      for (const minutes of [4, 527_041, 0, -5]) {
        const atCreate = await expectFailure(
          client.createSession({ userId: "u", sessionDurationMinutes: minutes }),
          Code.InvalidArgument,
          "INVALID_SESSION_DURATION",
        );
        expect(atCreate.metadata).toEqual({ value: String(minutes) });
        await expectFailure(
          client.authenticateSession({ credential: token(created.sessionToken), sessionDurationMinutes: minutes }),
          Code.InvalidArgument,
          "INVALID_SESSION_DURATION",
        );
      }
    });

    it("INVALID_ROLES and INVALID_ATTRIBUTES for out-of-range roles and attributes", async () => {
      const client = t.client(protocol);
      for (const roles of [[""], ["r".repeat(129)], Array.from({ length: 101 }, (_, i) => `r${i}`)]) {
        await expectFailure(client.createSession({ userId: "u", roles }), Code.InvalidArgument, "INVALID_ROLES");
      }
      for (const attributes of [{ ipAddress: "1".repeat(65) }, { userAgent: "a".repeat(1025) }]) {
        await expectFailure(
          client.createSession({ userId: "u", attributes }),
          Code.InvalidArgument,
          "INVALID_ATTRIBUTES",
        );
      }
    });

    it("MISSING_SESSION_CREDENTIAL without a credential or with an empty one; INVALID_SESSION_CREDENTIAL when too long", async () => {
      const client = t.client(protocol);
      await expectFailure(client.authenticateSession({}), Code.InvalidArgument, "MISSING_SESSION_CREDENTIAL");
      await expectFailure(
        client.authenticateSession({ credential: token("") }),
        Code.InvalidArgument,
        "MISSING_SESSION_CREDENTIAL",
      );
      await expectFailure(client.revokeSession({}), Code.InvalidArgument, "MISSING_SESSION_CREDENTIAL");
      await expectFailure(
        client.revokeSession({ target: { case: "sessionJwt", value: "" } }),
        Code.InvalidArgument,
        "MISSING_SESSION_CREDENTIAL",
      );
      await expectFailure(
        client.authenticateSession({ credential: token("t".repeat(8193)) }),
        Code.InvalidArgument,
        "INVALID_SESSION_CREDENTIAL",
      );
    });

    it("SESSION_NOT_FOUND for an unknown, an expired and a revoked session", async () => {
      const client = t.client(protocol);
      await expectFailure(
        client.authenticateSession({ credential: token("unknown-token") }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
      const expiring = await client.createSession({ userId: "u", sessionDurationMinutes: 5 });
      const revoked = await client.createSession({ userId: "u" });
      await client.revokeSession({ target: { case: "sessionToken", value: revoked.sessionToken } });
      clock.advance(5 * MINUTE);
      for (const s of [expiring, revoked]) {
        await expectFailure(
          client.authenticateSession({ credential: token(s.sessionToken) }),
          Code.NotFound,
          "SESSION_NOT_FOUND",
        );
        const viaJwt = await expectFailure(
          client.authenticateSession({ credential: { case: "sessionJwt", value: s.sessionJwt } }),
          Code.NotFound,
          "SESSION_NOT_FOUND",
        );
        expect(viaJwt.metadata).toEqual({});
      }
    });

    it("INVALID_API_KEY when the key is missing or wrong, on every RPC but GetJwks", async () => {
      for (const apiKey of [null, "wrong-api-key-0123456789", `${TEST_API_KEY}x`]) {
        const client = t.client(protocol, apiKey);
        await expectFailure(client.createSession({ userId: "u" }), Code.Unauthenticated, "INVALID_API_KEY");
        await expectFailure(
          client.authenticateSession({ credential: token("x") }),
          Code.Unauthenticated,
          "INVALID_API_KEY",
        );
        await expectFailure(client.listSessions({ userId: "u" }), Code.Unauthenticated, "INVALID_API_KEY");
        await expectFailure(
          client.revokeSession({ target: { case: "sessionId", value: "x" } }),
          Code.Unauthenticated,
          "INVALID_API_KEY",
        );
        expect((await client.getJwks({})).keys.length).toBeGreaterThan(0);
      }
    });

    it("CLAIMS_VERSION_MISMATCH when expected_claims_version is stale, with both versions", async () => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: "u", sessionCustomClaims: { a: 1 } });
      await client.authenticateSession({ credential: token(created.sessionToken), sessionCustomClaims: { a: 2 } });
      const stale = await expectFailure(
        client.authenticateSession({
          credential: token(created.sessionToken),
          sessionCustomClaims: { a: 3 },
          expectedClaimsVersion: 0n,
        }),
        Code.Aborted,
        "CLAIMS_VERSION_MISMATCH",
      );
      expect(stale.metadata).toEqual({ expected: "0", actual: "1" });
      // A version check without a patch is checked too.
      await expectFailure(
        client.authenticateSession({ credential: token(created.sessionToken), expectedClaimsVersion: 5n }),
        Code.Aborted,
        "CLAIMS_VERSION_MISMATCH",
      );
    });
  });

  describe("non-finite numbers (binary protobuf only)", () => {
    it.each(["grpc", "grpc-web"] as const)("INVALID_CLAIMS for NaN and Infinity over %s", async (protocol) => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: "u" });
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const atCreate = await expectFailure(
          client.createSession({ userId: "u", sessionCustomClaims: { deep: { list: [1, bad] } } }),
          Code.InvalidArgument,
          "INVALID_CLAIMS",
        );
        expect(atCreate.metadata).toEqual({ path: "/deep/list/1" });
        await expectFailure(
          client.authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            sessionCustomClaims: { n: bad },
          }),
          Code.InvalidArgument,
          "INVALID_CLAIMS",
        );
      }
    });
  });

  describe("INVALID_SESSION_JWT", () => {
    const jwtCredential = (value: string) => ({ credential: { case: "sessionJwt", value } }) as const;

    it.each(PROTOCOLS)("for garbage and a tampered payload over %s", async (protocol) => {
      const client = t.client(protocol);
      const created = await client.createSession({ userId: "u", sessionCustomClaims: { role: "reader" } });
      const [header, payload, signature] = created.sessionJwt.split(".") as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
      const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url")}.${signature}`;
      const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid })).toString("base64url")}.${payload}.`;
      for (const bad of [
        "garbage",
        "a.b.c",
        `${header}.${payload}`,
        tampered,
        unsigned,
        `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
      ]) {
        await expectFailure(
          client.authenticateSession(jwtCredential(bad)),
          Code.Unauthenticated,
          "INVALID_SESSION_JWT",
        );
        await expectFailure(
          client.revokeSession({ target: { case: "sessionJwt", value: bad } }),
          Code.Unauthenticated,
          "INVALID_SESSION_JWT",
        );
      }
      // The genuine JWT still works: the failures were the JWTs' fault.
      await client.authenticateSession(jwtCredential(created.sessionJwt));
    });

    describe("from an instance on the same keys with another issuer or audience", () => {
      let sameConfig: SiblingApp;
      let otherIssuer: SiblingApp;
      let otherAudience: SiblingApp;
      beforeAll(async () => {
        sameConfig = await startSiblingApp(t);
        otherIssuer = await startSiblingApp(t, { jwtIssuer: "other-issuer" });
        otherAudience = await startSiblingApp(t, { jwtAudience: "other-audience" });
      });
      afterAll(async () => {
        await sameConfig?.close();
        await otherIssuer?.close();
        await otherAudience?.close();
      });

      it("accepts a JWT minted by an instance with the same issuer and audience", async () => {
        const minted = await sameConfig.client().createSession({ userId: "u" });
        const res = await t.client("grpc").authenticateSession(jwtCredential(minted.sessionJwt));
        expect(res.session?.sessionId).toBe(minted.session?.sessionId);
      });

      it.each(PROTOCOLS)("rejects a wrong issuer and a wrong audience over %s", async (protocol) => {
        for (const other of [otherIssuer, otherAudience]) {
          const minted = await other.client().createSession({ userId: "u" });
          // Same database, same signing key: only iss or aud differs.
          expect(minted.sessionJwt.split(".")[0]).toBe(
            (await t.client().createSession({ userId: "u" })).sessionJwt.split(".")[0],
          );
          await expectFailure(
            t.client(protocol).authenticateSession(jwtCredential(minted.sessionJwt)),
            Code.Unauthenticated,
            "INVALID_SESSION_JWT",
          );
        }
      });
    });
  });

  describe("a rejected request changes nothing", () => {
    it.each(
      PROTOCOLS,
    )("leaves claims, claims_version, expires_at and last_accessed_at as stored, over %s", async (protocol) => {
      const client = t.client(protocol);
      const created = await client.createSession({
        userId: "unchanged",
        sessionCustomClaims: { a: 1, nested: { b: [1, 2] } },
      });
      const patched = await client.authenticateSession({
        credential: { case: "sessionToken", value: created.sessionToken },
        sessionCustomClaims: { c: "x".repeat(3000) },
      });
      const id = created.session?.sessionId ?? "";
      const before = await storedRow(t, id);
      const credential = { case: "sessionToken", value: created.sessionToken } as const;
      const attempt = async (call: () => Promise<unknown>, reason: string) => {
        clock.advance(1_000); // a write would move last_accessed_at
        await expectFailure(call(), reason === "CLAIMS_VERSION_MISMATCH" ? Code.Aborted : Code.InvalidArgument, reason);
      };
      await attempt(
        () =>
          client.authenticateSession({
            credential,
            sessionDurationMinutes: 30,
            sessionCustomClaims: { a: 2, iss: "x" },
          }),
        "RESERVED_CLAIM",
      );
      await attempt(
        () =>
          client.authenticateSession({
            credential,
            sessionDurationMinutes: 30,
            sessionCustomClaims: { a: null, "https://tessera.dev/x": null },
          }),
        "RESERVED_NAMESPACE_CLAIM",
      );
      await attempt(
        () =>
          client.authenticateSession({
            credential,
            sessionDurationMinutes: 30,
            sessionCustomClaims: { a: 2, d: "y".repeat(1200) },
          }),
        "CLAIMS_TOO_LARGE",
      );
      await attempt(
        () =>
          client.authenticateSession({
            credential,
            sessionDurationMinutes: 30,
            sessionCustomClaims: { a: 2, deep: nestedClaims(40) },
          }),
        "INVALID_CLAIMS",
      );
      await attempt(
        () =>
          client.authenticateSession({
            credential,
            sessionDurationMinutes: 30,
            sessionCustomClaims: { a: 2 },
            expectedClaimsVersion: 0n,
          }),
        "CLAIMS_VERSION_MISMATCH",
      );
      await attempt(
        () => client.authenticateSession({ credential, sessionDurationMinutes: 4, sessionCustomClaims: { a: 2 } }),
        "INVALID_SESSION_DURATION",
      );
      await attempt(
        () => client.authenticateSession({ credential, sessionDurationMinutes: 527_041 }),
        "INVALID_SESSION_DURATION",
      );
      const after = await storedRow(t, id);
      expect(after).toStrictEqual(before);
      expect(JSON.stringify(after)).toBe(JSON.stringify(before));
      expect(after.claims_version).toEqual(before.claims_version);
      expect(storedClaims(before.claims_overlay)).toEqual(patched.session?.customClaims);
      const listed = (await client.listSessions({ userId: "unchanged" })).sessions.find((s) => s.sessionId === id);
      expect(listed?.customClaims).toEqual(patched.session?.customClaims);
      expect(listed?.claimsVersion).toBe(1n);
      expect(listed?.lastAccessedAt).toEqual(patched.session?.lastAccessedAt);
      expect(listed?.expiresAt).toEqual(patched.session?.expiresAt);
    });
  });

  describe("logs", () => {
    it("hold no session token, JWT, API key or claim value after a run of calls", async () => {
      const secrets: string[] = [TEST_API_KEY];
      const claimValue = (n: number) => `claim-value-s3cret-${n}`;
      const wrongKey = "wrong-api-key-s3cret-0123456789";
      for (const protocol of PROTOCOLS) {
        const client = t.client(protocol);
        const created = await client.createSession({
          userId: "logged",
          sessionCustomClaims: { a: claimValue(1), n: { b: claimValue(2) } },
        });
        secrets.push(created.sessionToken, created.sessionJwt);
        const authed = await client.authenticateSession({
          credential: { case: "sessionJwt", value: created.sessionJwt },
          sessionCustomClaims: { c: claimValue(3) },
        });
        secrets.push(authed.sessionJwt);
        const tampered = `${authed.sessionJwt.slice(0, -6)}AAAAAA`;
        secrets.push(tampered);
        await expectFailure(
          client.authenticateSession({ credential: { case: "sessionJwt", value: tampered } }),
          Code.Unauthenticated,
          "INVALID_SESSION_JWT",
        );
        await expectFailure(
          client.authenticateSession({
            credential: { case: "sessionToken", value: created.sessionToken },
            sessionCustomClaims: { iss: claimValue(4) },
          }),
          Code.InvalidArgument,
          "RESERVED_CLAIM",
        );
        await expectFailure(
          client.createSession({ userId: "logged", sessionCustomClaims: { big: claimValue(5).repeat(300) } }),
          Code.InvalidArgument,
          "CLAIMS_TOO_LARGE",
        );
        await expectFailure(
          t.client(protocol, wrongKey).listSessions({ userId: "logged" }),
          Code.Unauthenticated,
          "INVALID_API_KEY",
        );
        await client.revokeSession({ target: { case: "sessionToken", value: created.sessionToken } });
        await expectFailure(
          client.authenticateSession({ credential: { case: "sessionToken", value: created.sessionToken } }),
          Code.NotFound,
          "SESSION_NOT_FOUND",
        );
      }
      secrets.push(wrongKey, ...[1, 2, 3, 4, 5].map(claimValue));
      const text = t.logText();
      // The run was logged, one line per call, so the absence below means something.
      expect(t.logs.filter((line) => line.msg === "rpc").length).toBeGreaterThanOrEqual(PROTOCOLS.length * 8);
      for (const secret of secrets) expect(text).not.toContain(secret);
      // Nor any part of a JWT or token long enough to matter.
      for (const secret of secrets)
        for (const part of secret.split(".")) if (part.length >= 20) expect(text).not.toContain(part);
      expect(text).not.toContain("s3cret");
    });
  });
});
