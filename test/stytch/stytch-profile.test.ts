import { decodeJwt } from "jose";
import { ClientError } from "stytch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { backends } from "../support/backends.js";
import { useTestApp } from "../support/test-app.js";
import { expectStytchError, PROJECT_ID, type StytchTestApp, startStytchApp } from "./helpers.js";

const BASE = { API_KEYS: "test-api-key-0123456789abcdef" };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("JWT_PROFILE and STYTCH_PROJECT_ID configuration", () => {
  it("keeps Tessera's own profile by default, with the Stytch surface off", () => {
    const config = parseConfig(BASE);
    expect(config).toMatchObject({
      jwtProfile: "tessera",
      stytchProjectId: undefined,
      jwtIssuer: "tessera",
      jwtAudience: "tessera",
      jwtAlgorithm: "ES256",
      claimsNamespace: "https://tessera.dev/",
    });
  });

  it("derives issuer, audience, namespace and RS256 from the project id under JWT_PROFILE=stytch", () => {
    const config = parseConfig({ ...BASE, JWT_PROFILE: "stytch", STYTCH_PROJECT_ID: PROJECT_ID });
    expect(config).toMatchObject({
      jwtProfile: "stytch",
      stytchProjectId: PROJECT_ID,
      jwtIssuer: `stytch.com/${PROJECT_ID}`,
      jwtAudience: PROJECT_ID,
      jwtAlgorithm: "RS256",
      claimsNamespace: "https://stytch.com/",
    });
  });

  it("lets JWT_ALGORITHM override RS256 under the stytch profile", () => {
    const config = parseConfig({
      ...BASE,
      JWT_PROFILE: "stytch",
      STYTCH_PROJECT_ID: PROJECT_ID,
      JWT_ALGORITHM: "ES256",
    });
    expect(config.jwtAlgorithm).toBe("ES256");
  });

  it("requires STYTCH_PROJECT_ID with JWT_PROFILE=stytch", () => {
    expect(problemsOf({ JWT_PROFILE: "stytch" })).toStrictEqual([
      "STYTCH_PROJECT_ID is required with JWT_PROFILE=stytch",
    ]);
  });

  it("lists every setting the stytch profile fixes that was also set", () => {
    expect(
      problemsOf({
        JWT_PROFILE: "stytch",
        STYTCH_PROJECT_ID: PROJECT_ID,
        JWT_ISSUER: "x",
        JWT_AUDIENCE: "y",
        CLAIMS_NAMESPACE: "https://z/",
      }),
    ).toStrictEqual([
      "JWT_ISSUER cannot be set with JWT_PROFILE=stytch, which fixes it",
      "JWT_AUDIENCE cannot be set with JWT_PROFILE=stytch, which fixes it",
      "CLAIMS_NAMESPACE cannot be set with JWT_PROFILE=stytch, which fixes it",
    ]);
  });

  it.each(["has space", "a/b", "-leading-dash", "x".repeat(129)])("rejects the project id %s", (id) => {
    expect(problemsOf({ STYTCH_PROJECT_ID: id })).toStrictEqual([
      "STYTCH_PROJECT_ID must be 1 to 128 letters, digits, '.', '_' or '-'",
    ]);
  });

  it("rejects an unknown profile", () => {
    expect(problemsOf({ JWT_PROFILE: "auth0" })).toStrictEqual([
      'JWT_PROFILE must be one of tessera, stytch, got "auth0"',
    ]);
  });
});

describe.each(backends())("the Stytch surface under Tessera's own JWT profile on %s", (backend) => {
  let s: StytchTestApp;
  beforeAll(async () => {
    s = await startStytchApp(backend, { JWT_PROFILE: "tessera" });
  });
  afterAll(() => s?.close());

  it("mints Tessera-profile JWTs: iss and aud from config, the session claim in Tessera's namespace", async () => {
    const created = await s.create({ user_id: "tessera-user-1", session_custom_claims: { k: 1 } });
    const payload = decodeJwt(created.session_jwt);
    expect(payload).toMatchObject({ iss: "tessera", aud: "tessera", sub: "tessera-user-1", k: 1 });
    expect(payload["https://tessera.dev/session"]).toStrictEqual({
      id: created.session.session_id,
      started_at: created.session.started_at,
      last_accessed_at: created.session.last_accessed_at,
      expires_at: created.session.expires_at,
      attributes: { ip_address: "", user_agent: "" },
      roles: [],
      claims_version: 0,
    });
    expect(payload).not.toHaveProperty(["https://stytch.com/session"]);
  });

  it("reserves Tessera's namespace, not Stytch's (with Stytch's error for the service's own namespace)", async () => {
    const created = await s.create({ user_id: "tessera-user-2" });
    await expectStytchError(
      s.client.sessions.authenticate({
        session_token: created.session_token,
        session_custom_claims: { "https://tessera.dev/x": 1 },
      }),
      400,
      "stytch_claims_in_custom_claims",
    );
    const res = await s.client.sessions.authenticate({
      session_token: created.session_token,
      session_custom_claims: { "https://stytch.com/x": 1 },
    });
    expect(res.session.custom_claims).toStrictEqual({ "https://stytch.com/x": 1 });
  });

  it("the SDK's local verification refuses the non-Stytch issuer, and authenticateJwt falls back to Tessera", async () => {
    const created = await s.create({ user_id: "tessera-user-3", session_custom_claims: { k: 2 } });
    await expect(s.client.sessions.authenticateJwtLocal({ session_jwt: created.session_jwt })).rejects.toBeInstanceOf(
      ClientError,
    );
    const res = await s.client.sessions.authenticateJwt({ session_jwt: created.session_jwt });
    expect(res.session.session_id).toBe(created.session.session_id);
    expect(res.session.custom_claims).toStrictEqual({ k: 2 });
    expect(res.session_jwt).not.toBe(created.session_jwt);
  });
});

describe.each(backends())("without STYTCH_PROJECT_ID on %s", (backend) => {
  const t = useTestApp(backend);

  it("serves no Stytch surface: /v1/ paths fall through to Connect", async () => {
    const res = await fetch(`${t.baseUrl}/v1/sessions/jwks/${PROJECT_ID}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("error_type");
  });
});
