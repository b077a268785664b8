import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedSnapshot } from "../hostile/hostile-support.js";
import { backends } from "../support/backends.js";
import { expectStytchError, type StytchTestApp, startStytchApp } from "./helpers.js";

const MARK = "v4lue-mark";
/** JSON text of strings PostgreSQL cannot store or UTF-8 cannot encode, as a JSON body spells them. */
const BAD_JSON = [`"a\\u0000${MARK}"`, `"\\ud800${MARK}"`, `"${MARK}\\udfff"`];
/** The same strings as JavaScript values, for the SDK to send. */
const BAD = [`a\u0000${MARK}`, `\uD800${MARK}`, `${MARK}\uDFFF`];

/** Whole seconds with Z, as Stytch writes RFC 3339 timestamps. */
const SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe.each(backends())("the Stytch dialect against hostile input on %s", (backend) => {
  let s: StytchTestApp;
  let userCount = 0;
  const newUser = () => `hostile-user-${++userCount}`;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  const errorLines = () => s.t.logs.filter((line) => Number(line.level) >= 50);

  /** Runs `attack` and checks the stored sessions are byte-identical and no error-level line was logged. */
  async function harmless<T>(attack: () => Promise<T>): Promise<T> {
    const before = await storedSnapshot(s.t);
    const errorsBefore = errorLines().length;
    const result = await attack();
    expect(await storedSnapshot(s.t)).toBe(before);
    expect(errorLines().slice(errorsBefore)).toStrictEqual([]);
    return result;
  }

  /** A raw JSON POST; `body` is JSON text, so escapes such as \u0000 reach the server as written. */
  const post = (path: string, body: string, contentType: string | null = "application/json") =>
    s.fetch(path, {
      method: "POST",
      headers: contentType === null ? {} : { "content-type": contentType },
      body,
    });

  /** Checks a Stytch error body: every field, no top-level `error`, and no echo of the value. */
  async function expectError(res: Response, status: number, errorType: string): Promise<void> {
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).toStrictEqual({
      status_code: status,
      request_id: expect.stringMatching(/^request-id-/),
      error_type: errorType,
      error_message: expect.any(String),
      error_url: `https://stytch.com/docs/api/errors/${status}#${errorType}`,
    });
    expect(text).not.toContain(MARK);
  }

  describe("NUL characters and lone surrogates", () => {
    it.each(BAD_JSON)("create refuses %s in each field with Stytch's error type for it", async (bad) => {
      const cases: ReadonlyArray<[string, string]> = [
        [`{"user_id": ${bad}}`, "invalid_user_id"],
        [`{"user_id": "u", "roles": ["ok", ${bad}]}`, "invalid_rbac_role_id"],
        [`{"user_id": "u", "attributes": {"ip_address": ${bad}}}`, "invalid_ip_address"],
        [`{"user_id": "u", "attributes": {"user_agent": ${bad}}}`, "invalid_user_agent"],
        [`{"user_id": "u", "session_custom_claims": {"k": ${bad}}}`, "unable_to_represent_custom_claims_json"],
        [`{"user_id": "u", "session_custom_claims": {"o": {${bad}: 1}}}`, "unable_to_represent_custom_claims_json"],
        [`{"user_id": "u", "session_custom_claims": {"l": [[${bad}]]}}`, "unable_to_represent_custom_claims_json"],
      ];
      for (const [body, errorType] of cases) {
        await harmless(async () => expectError(await post("/v1/sessions/tessera/create", body), 400, errorType));
      }
    });

    it.each(BAD_JSON)("authenticate and revoke refuse %s in credentials and claims", async (bad) => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { keep: 1 } });
      const token = JSON.stringify(created.session_token);
      const cases: ReadonlyArray<[string, string, string]> = [
        ["/v1/sessions/authenticate", `{"session_token": ${bad}}`, "invalid_session_token"],
        ["/v1/sessions/authenticate", `{"session_jwt": ${bad}}`, "unable_to_parse_session_jwt"],
        [
          "/v1/sessions/authenticate",
          `{"session_token": ${token}, "session_custom_claims": {${bad}: null}}`,
          "unable_to_represent_custom_claims_json",
        ],
        [
          "/v1/sessions/authenticate",
          `{"session_token": ${token}, "session_custom_claims": {"n": {"m": ${bad}}}}`,
          "unable_to_represent_custom_claims_json",
        ],
        ["/v1/sessions/revoke", `{"session_id": ${bad}}`, "invalid_session_id"],
        ["/v1/sessions/revoke", `{"session_token": ${bad}}`, "invalid_session_token"],
      ];
      for (const [path, body, errorType] of cases) {
        await harmless(async () => expectError(await post(path, body), 400, errorType));
      }
    });

    it.each(["%00", "a%00b", "%00%00"])("GET /v1/sessions?user_id=%s answers invalid_user_id", async (userId) => {
      await harmless(async () => expectError(await s.fetch(`/v1/sessions?user_id=${userId}`), 400, "invalid_user_id"));
    });

    it.each(BAD)("the SDK's calls get StytchErrors for %j, never a 500", async (bad) => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { keep: 1 } });
      await harmless(async () => {
        // A query string cannot carry a lone surrogate (URL encoding makes it U+FFFD), but it can carry NUL.
        if (bad.includes("\u0000")) {
          await expectStytchError(s.client.sessions.get({ user_id: bad }), 400, "invalid_user_id");
        }
        await expectStytchError(s.client.sessions.authenticate({ session_token: bad }), 400, "invalid_session_token");
        await expectStytchError(s.client.sessions.revoke({ session_id: bad }), 400, "invalid_session_id");
        for (const claims of [{ k: bad }, { [bad]: 1 }, { nested: { deeper: [bad] } }]) {
          const err = await expectStytchError(
            s.client.sessions.authenticate({ session_token: created.session_token, session_custom_claims: claims }),
            400,
            "unable_to_represent_custom_claims_json",
          );
          expect(err.message).not.toContain(MARK);
        }
      });
      const { sessions } = await s.client.sessions.get({ user_id: created.session.user_id });
      expect(sessions[0]?.custom_claims).toStrictEqual({ keep: 1 });
    });
  });

  describe("content type", () => {
    it.each([
      ["no content type", null],
      ["text/plain", "text/plain"],
      ["a form", "application/x-www-form-urlencoded"],
      ["another charset", "application/json; charset=iso-8859-1"],
      ["another parameter", "application/json; boundary=x"],
      ["a lookalike", "application/jsonx"],
      ["JSON lines", "application/x-ndjson"],
    ])("a POST with %s answers 400 bad_request and changes nothing", async (_name, contentType) => {
      const created = await s.create({ user_id: newUser(), session_custom_claims: { keep: 1 } });
      const body = JSON.stringify({ session_token: created.session_token, session_custom_claims: { k: 2 } });
      await harmless(async () =>
        expectError(await post("/v1/sessions/authenticate", body, contentType), 400, "bad_request"),
      );
    });

    it.each([
      "application/json",
      "Application/JSON",
      "application/json; charset=utf-8",
      "application/json;charset=UTF-8",
      'application/json; charset="utf-8"',
    ])("a POST with %s is served", async (contentType) => {
      const created = await s.create({ user_id: newUser() });
      const res = await post(
        "/v1/sessions/authenticate",
        JSON.stringify({ session_token: created.session_token }),
        contentType,
      );
      expect(res.status).toBe(200);
    });
  });

  describe("response bodies", () => {
    it("every error is Stytch-shaped JSON without a top-level error key, and every success has a JSON body", async () => {
      const created = await s.create({ user_id: newUser() });
      const failures: ReadonlyArray<[Promise<Response>, number, string]> = [
        [s.fetch("/v1/no/such/route"), 404, "route_not_found"],
        [s.fetch("/v1/users/no-such-user"), 404, "user_not_found"],
        [s.fetch("/v1/sessions/authenticate"), 405, "method_not_allowed"],
        [s.fetch("/v1/sessions", { method: "DELETE", body: "{}" }), 405, "method_not_allowed"],
        [s.fetch("/v1/sessions?user_id=u", { auth: null }), 401, "unauthorized_credentials"],
        [post("/v1/sessions/authenticate", "{"), 400, "bad_request"],
        [post("/v1/sessions/authenticate", "{}", "text/plain"), 400, "bad_request"],
        [post("/v1/sessions/authenticate", JSON.stringify({ pad: "x".repeat(70_000) })), 413, "request_too_large"],
        [post("/v1/sessions/revoke", "{}"), 400, "no_session_revoke_arguments"],
        [post("/v1/sessions/authenticate", '{"session_token": "none"}'), 404, "session_not_found"],
      ];
      for (const [res, status, errorType] of failures) await expectError(await res, status, errorType);
      const revoked = await post("/v1/sessions/revoke", JSON.stringify({ session_id: created.session.session_id }));
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toStrictEqual({
        status_code: 200,
        request_id: expect.stringMatching(/^request-id-/),
      });
    });
  });

  describe("timestamps in the Stytch profile", () => {
    it("are whole seconds, as Stytch sends them, in REST sessions and in the JWT session claim", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user });
      const authed = await s.client.sessions.authenticate({ session_token: created.session_token });
      const listed = (await s.client.sessions.get({ user_id: user })).sessions[0];
      for (const session of [created.session, authed.session, listed]) {
        for (const field of ["started_at", "last_accessed_at", "expires_at"] as const) {
          expect(session?.[field]).toMatch(SECONDS);
        }
      }
      const claim = decodeJwt(authed.session_jwt)["https://stytch.com/session"] as Record<string, unknown>;
      expect(claim).toMatchObject({
        started_at: authed.session.started_at,
        last_accessed_at: authed.session.last_accessed_at,
        expires_at: authed.session.expires_at,
      });
      expect(claim.started_at).toMatch(SECONDS);
    });
  });
});
