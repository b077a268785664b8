import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { ClientError } from "stytch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESERVED_CLAIMS } from "../../src/claims/index.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { expectStytchError, PROJECT_ID, type StytchTestApp, startStytchApp } from "./helpers.js";

// The official `stytch` SDK, unmodified, against a running Tessera with JWT_PROFILE=stytch.
describe.each(backends())("stytch SDK against Tessera on %s", (backend) => {
  let s: StytchTestApp;
  let userCount = 0;
  const newUser = () => `sdk-user-${++userCount}`;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  /** Authenticates with a patch and checks that the session and the new JWT both carry `expected`. */
  async function patchAndCheck(token: string, patch: Record<string, unknown>, expected: Record<string, unknown>) {
    const res = await s.client.sessions.authenticate({ session_token: token, session_custom_claims: patch });
    expect(res.session.custom_claims).toStrictEqual(expected);
    const local = await s.client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
    expect(local.custom_claims).toStrictEqual(expected);
    return res;
  }

  describe("seed document examples through sessions.authenticate", () => {
    it("adds key_1 and key_2 to {} and then updates key_1 to 9", async () => {
      const { session_token } = await s.create({ user_id: newUser() });
      await patchAndCheck(session_token, { key_1: 1, key_2: 2 }, { key_1: 1, key_2: 2 });
      await patchAndCheck(session_token, { key_1: 9 }, { key_1: 9, key_2: 2 });
    });

    it("deletes key_1 with null", async () => {
      const { session_token } = await s.create({ user_id: newUser() });
      await patchAndCheck(session_token, { key_1: 1, key_2: 2 }, { key_1: 1, key_2: 2 });
      await patchAndCheck(session_token, { key_1: null }, { key_2: 2 });
    });

    it("updates and deletes nested values (inferred start {b: 2, d: 4})", async () => {
      const { session_token } = await s.create({ user_id: newUser(), session_custom_claims: { b: 2, d: 4 } });
      const first = { c: 3.5, d: 4, e: { nested1: "val1", nested2: "val2" } };
      await patchAndCheck(session_token, { b: null, c: 3.5, e: { nested1: "val1", nested2: "val2" } }, first);
      await patchAndCheck(
        session_token,
        { e: { nested1: null, nested3: "val3" } },
        { c: 3.5, d: 4, e: { nested2: "val2", nested3: "val3" } },
      );
    });

    it.each([
      ...RESERVED_CLAIMS.map((claim) => [claim, "reserved_claims_in_custom_claims"]),
      ["https://stytch.com/session", "stytch_claims_in_custom_claims"],
      ["https://stytch.com/x", "stytch_claims_in_custom_claims"],
    ])("rejects the reserved claim %s with %s and keeps the claims", async (claim, errorType) => {
      const { session_token, session } = await s.create({ user_id: newUser(), session_custom_claims: { k: 1 } });
      const err = await expectStytchError(
        s.client.sessions.authenticate({ session_token, session_custom_claims: { [claim]: "s3cret-value" } }),
        400,
        errorType,
      );
      expect(err.message).not.toContain("s3cret-value");
      const { sessions } = await s.client.sessions.get({ user_id: session.user_id });
      expect(sessions[0]).toMatchObject({ custom_claims: { k: 1 }, last_accessed_at: session.last_accessed_at });
    });

    it("rejects claims over four kilobytes with custom_claims_too_large and keeps the claims", async () => {
      const { session_token, session } = await s.create({ user_id: newUser(), session_custom_claims: { k: 1 } });
      await expectStytchError(
        s.client.sessions.authenticate({ session_token, session_custom_claims: { big: "x".repeat(4096) } }),
        400,
        "custom_claims_too_large",
      );
      const { sessions } = await s.client.sessions.get({ user_id: session.user_id });
      expect(sessions[0]?.custom_claims).toStrictEqual({ k: 1 });
    });
  });

  describe("sessions.authenticate", () => {
    it("returns session, token, JWT and user in Stytch's shape", async () => {
      const created = await s.create({
        user_id: newUser(),
        session_custom_claims: { plan: "pro" },
        attributes: { ip_address: "203.0.113.7", user_agent: "sdk-test" },
        roles: ["admin"],
      });
      const res = await s.client.sessions.authenticate({
        session_token: created.session_token,
        session_duration_minutes: 90,
      });
      expect(res.status_code).toBe(200);
      expect(res.request_id).toMatch(/^request-id-/);
      expect(res.session_token).toBe(created.session_token);
      // No user record: the user Stytch's types declare, with empty metadata and roles and no created_at.
      expect(res.user).toStrictEqual({
        user_id: created.session.user_id,
        emails: [],
        status: "active",
        phone_numbers: [],
        webauthn_registrations: [],
        providers: [],
        totps: [],
        crypto_wallets: [],
        biometric_registrations: [],
        is_locked: false,
        roles: [],
        name: { first_name: "", middle_name: "", last_name: "" },
        trusted_metadata: {},
        untrusted_metadata: {},
      });
      expect(res.session).toStrictEqual({
        session_id: created.session.session_id,
        user_id: created.session.user_id,
        started_at: created.session.started_at,
        last_accessed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        expires_at: expect.stringMatching(/Z$/),
        attributes: { ip_address: "203.0.113.7", user_agent: "sdk-test" },
        authentication_factors: [],
        custom_claims: { plan: "pro" },
        // The profile's default role first, then the session's own.
        roles: ["stytch_user", "admin"],
      });
      const lifetime = Date.parse(res.session.expires_at ?? "") - Date.parse(res.session.last_accessed_at ?? "");
      expect(lifetime).toBe(90 * 60_000);
    });

    it("authenticates by session_jwt and returns a new JWT", async () => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { a: 1 } });
      const res = await s.client.sessions.authenticate({
        session_jwt: created.session_jwt,
        session_custom_claims: { b: 2 },
      });
      expect(res.session.custom_claims).toStrictEqual({ a: 1, b: 2 });
      expect(res.session_jwt).not.toBe(created.session_jwt);
      expect(decodeJwt(res.session_jwt)).toMatchObject({ a: 1, b: 2 });
    });

    it("answers session_not_found for an unknown token", async () => {
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: "no-such-token" }),
        404,
        "session_not_found",
      );
    });

    it("answers too_many_session_arguments for a token and a JWT", async () => {
      const created = await s.create({ user_id: newUser() });
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: created.session_token, session_jwt: created.session_jwt }),
        400,
        "too_many_session_arguments",
      );
    });

    it("answers no_session_arguments for neither", async () => {
      await expectStytchError(s.client.sessions.authenticate({}), 400, "no_session_arguments");
    });

    it.each([1, 4, 527_041, 2.5])("answers invalid_session_duration_minutes for %s", async (minutes) => {
      const created = await s.create({ user_id: newUser() });
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: created.session_token, session_duration_minutes: minutes }),
        400,
        "invalid_session_duration_minutes",
      );
    });

    it("answers unable_to_parse_session_jwt for a JWT that is not one", async () => {
      await expectStytchError(
        s.client.sessions.authenticate({ session_jwt: "not.a.jwt" }),
        401,
        "unable_to_parse_session_jwt",
      );
    });

    it("answers unauthorized_credentials for a wrong secret or project id", async () => {
      const created = await s.create({ user_id: newUser() });
      const wrongSecret = s.clientWith(PROJECT_ID, "wrong-secret-0123456789");
      const wrongProject = s.clientWith("project-test-other", TEST_API_KEY);
      for (const client of [wrongSecret, wrongProject]) {
        const err = await expectStytchError(
          client.sessions.authenticate({ session_token: created.session_token }),
          401,
          "unauthorized_credentials",
        );
        expect(err.message).not.toContain(TEST_API_KEY);
      }
    });
  });

  describe("sessions.get and sessions.revoke", () => {
    it("lists a user's active sessions, newest first", async () => {
      const user = newUser();
      const first = await s.create({ user_id: user, session_custom_claims: { n: 1 } });
      const second = await s.create({ user_id: user, session_custom_claims: { n: 2 } });
      const res = await s.client.sessions.get({ user_id: user });
      expect(res.status_code).toBe(200);
      expect(res.sessions.map((session) => session.session_id)).toStrictEqual([
        second.session.session_id,
        first.session.session_id,
      ]);
      expect(res.sessions[1]).toStrictEqual(first.session);
    });

    it("lists nothing for a user without sessions", async () => {
      expect((await s.client.sessions.get({ user_id: newUser() })).sessions).toStrictEqual([]);
    });

    it.each(["session_id", "session_token", "session_jwt"] as const)("revokes by %s", async (field) => {
      const user = newUser();
      const created = await s.create({ user_id: user });
      const value = {
        session_id: created.session.session_id,
        session_token: created.session_token,
        session_jwt: created.session_jwt,
      }[field];
      const res = await s.client.sessions.revoke({ [field]: value });
      expect(res.status_code).toBe(200);
      expect((await s.client.sessions.get({ user_id: user })).sessions).toStrictEqual([]);
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: created.session_token }),
        404,
        "session_not_found",
      );
    });

    it("answers too_many_session_revoke_arguments when revoking by two credentials", async () => {
      const created = await s.create({ user_id: newUser() });
      await expectStytchError(
        s.client.sessions.revoke({ session_id: created.session.session_id, session_token: created.session_token }),
        400,
        "too_many_session_revoke_arguments",
      );
      expect((await s.client.sessions.get({ user_id: created.session.user_id })).sessions).toHaveLength(1);
    });

    it("answers no_session_revoke_arguments when revoking by none", async () => {
      await expectStytchError(s.client.sessions.revoke({}), 400, "no_session_revoke_arguments");
    });

    it("answers session_not_found when revoking an unknown session", async () => {
      await expectStytchError(s.client.sessions.revoke({ session_id: "session-unknown" }), 404, "session_not_found");
    });
  });

  describe("JWTs", () => {
    it("getJWKS returns the public key that signed the JWT, without private members", async () => {
      const created = await s.create({ user_id: newUser() });
      const res = await s.client.sessions.getJWKS({ project_id: PROJECT_ID });
      expect(res.status_code).toBe(200);
      const { kid } = decodeProtectedHeader(created.session_jwt);
      const key = res.keys.find((candidate) => candidate.kid === kid);
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
      for (const member of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(member);
    });

    it("mints JWTs in Stytch's profile: typ JWT, RS256, iss, aud list and the https://stytch.com/session claim", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user, session_custom_claims: { k: "v" }, roles: ["r"] });
      expect(decodeProtectedHeader(created.session_jwt)).toStrictEqual({
        alg: "RS256",
        kid: expect.any(String),
        typ: "JWT",
      });
      const payload = decodeJwt(created.session_jwt);
      expect(payload).toStrictEqual({
        k: "v",
        iss: `stytch.com/${PROJECT_ID}`,
        aud: [PROJECT_ID],
        sub: user,
        iat: expect.any(Number),
        nbf: expect.any(Number),
        exp: expect.any(Number),
        "https://stytch.com/session": {
          id: created.session.session_id,
          started_at: created.session.started_at,
          last_accessed_at: created.session.last_accessed_at,
          expires_at: created.session.expires_at,
          attributes: { ip_address: "", user_agent: "" },
          authentication_factors: [],
          roles: ["stytch_user", "r"],
          claims_version: 0,
        },
      });
    });

    it.each([
      ["Tessera's default issuer", { iss: "tessera", aud: [PROJECT_ID] }, 401],
      ["another project's audience", { iss: `stytch.com/${PROJECT_ID}`, aud: ["project-test-other"] }, 401],
      ["the profile's issuer and audience", { iss: `stytch.com/${PROJECT_ID}`, aud: [PROJECT_ID] }, 200],
    ])("verifies incoming JWTs by the profile: one signed with the live key and %s answers %s", async (_name, claims, status) => {
      const created = await s.create({ user_id: newUser() });
      const key = s.t.app.keys.active();
      const payload = decodeJwt(created.session_jwt);
      const jwt = await new SignJWT({ ...payload, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
        .sign(key.privateKey);
      const call = s.client.sessions.authenticate({ session_jwt: jwt });
      if (status === 200) expect((await call).session.session_id).toBe(created.session.session_id);
      else await expectStytchError(call, 401, "unable_to_parse_session_jwt");
    });

    it("getJWKS answers project_not_found for another project id", async () => {
      await expectStytchError(
        s.client.sessions.getJWKS({ project_id: "project-test-other" }),
        404,
        "project_not_found",
      );
    });

    it("authenticateJwtLocal verifies a Tessera JWT with the SDK's own JWKS fetch", async () => {
      const user = newUser();
      const created = await s.create({
        user_id: user,
        session_custom_claims: { tier: "gold", n: { m: [1, 2] } },
        roles: ["r1"],
      });
      const local = await s.client.sessions.authenticateJwtLocal({ session_jwt: created.session_jwt });
      expect(local).toStrictEqual({
        session_id: created.session.session_id,
        user_id: user,
        attributes: { ip_address: "", user_agent: "" },
        authentication_factors: [],
        started_at: created.session.started_at,
        last_accessed_at: created.session.last_accessed_at,
        // The SDK rewrites expires_at with Date.toISOString (dist/shared/sessions.js), so it gains ".000".
        expires_at: new Date(created.session.expires_at as string).toISOString(),
        custom_claims: { tier: "gold", n: { m: [1, 2] } },
        roles: ["stytch_user", "r1"],
      });
    });

    it("authenticateJwtLocal rejects a JWT whose signature does not match", async () => {
      const created = await s.create({ user_id: newUser() });
      const [header, payload] = created.session_jwt.split(".");
      const forged = `${header}.${payload}.${"A".repeat(342)}`;
      await expect(s.client.sessions.authenticateJwtLocal({ session_jwt: forged })).rejects.toBeInstanceOf(ClientError);
    });

    it("authenticateJwt verifies locally and returns the custom claims", async () => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { local: true } });
      const res = await s.client.sessions.authenticateJwt({ session_jwt: created.session_jwt });
      expect(res.session_jwt).toBe(created.session_jwt);
      expect(res.session.custom_claims).toStrictEqual({ local: true });
      expect(res.session.session_id).toBe(created.session.session_id);
    });

    it("authenticateJwt with max_token_age_seconds 0 goes to Tessera, which applies the claims patch", async () => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { a: 1 } });
      const res = await s.client.sessions.authenticateJwt({
        session_jwt: created.session_jwt,
        max_token_age_seconds: 0,
        session_custom_claims: { a: null, b: 2 },
      });
      expect(res.session.custom_claims).toStrictEqual({ b: 2 });
      const local = await s.client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
      expect(local.custom_claims).toStrictEqual({ b: 2 });
    });

    it("authenticateJwt falls back to Tessera for a JWT that fails locally and surfaces its StytchError", async () => {
      const created = await s.create({ user_id: newUser() });
      const [header, payload] = created.session_jwt.split(".");
      await expectStytchError(
        s.client.sessions.authenticateJwt({ session_jwt: `${header}.${payload}.${"A".repeat(342)}` }),
        401,
        "unable_to_parse_session_jwt",
      );
    });
  });
});
