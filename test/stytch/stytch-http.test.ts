import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetrics, sampleValue } from "../ops/metrics-text.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { basic, PROJECT_ID, type StytchTestApp, startStytchApp } from "./helpers.js";

interface StytchBody {
  status_code: number;
  request_id: string;
  error_type?: string;
  error_message?: string;
  error_url?: string;
  [key: string]: unknown;
}

// Raw HTTP against the Stytch surface: routing, methods, bodies and credentials.
describe.each(backends())("stytch REST surface over raw HTTP on %s", (backend) => {
  let s: StytchTestApp;
  let userCount = 0;
  const newUser = () => `http-user-${++userCount}`;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  const post = (path: string, body: string, auth?: string | null) =>
    s.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body, auth });

  /** Reads a JSON error response and checks every field Stytch errors have. */
  async function expectError(res: Response, status: number, errorType: string): Promise<StytchBody> {
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as StytchBody;
    expect(res.status).toBe(status);
    expect(body).toStrictEqual({
      status_code: status,
      request_id: expect.stringMatching(/^request-id-/),
      error_type: errorType,
      error_message: expect.any(String),
      error_url: `https://stytch.com/docs/api/errors/${status}#${errorType}`,
    });
    return body;
  }

  /** The session as GET /v1/sessions shows it. */
  async function stored(userId: string) {
    const res = await s.fetch(`/v1/sessions?user_id=${encodeURIComponent(userId)}`);
    return ((await res.json()) as { sessions: unknown[] }).sessions;
  }

  describe("routing", () => {
    it.each([
      "/v1/users",
      "/v1/users/user-1/external_id",
      "/v1/sessions/",
      "/v1",
      "/v1/sessions/jwks",
      "/v1/rbac/policies",
    ])("answers a JSON 404 for the unknown path %s", async (path) => {
      await expectError(await s.fetch(path), 404, "route_not_found");
    });

    it.each([
      ["GET", "/v1/sessions/authenticate", "POST"],
      ["PUT", "/v1/sessions/revoke", "POST"],
      ["DELETE", "/v1/sessions", "GET"],
      ["POST", `/v1/sessions/jwks/${PROJECT_ID}`, "GET"],
      ["GET", "/v1/sessions/tessera/create", "POST"],
      ["POST", "/v1/users/user-1", "GET, PUT, DELETE"],
    ])("answers a JSON 405 for %s %s, allowing %s", async (method, path, allow) => {
      const res = await s.fetch(path, { method });
      expect(res.headers.get("allow")).toBe(allow);
      await expectError(res, 405, "method_not_allowed");
    });

    it("leaves non-/v1/ paths to Connect", async () => {
      const created = await s.t.client("connect").createSession({ userId: newUser() });
      expect(created.sessionToken).not.toBe("");
      const res = await s.fetch("/v1x/sessions");
      expect(await res.text()).not.toContain("request-id-");
    });

    it("serves the same routes over h2c", async () => {
      const created = await s.create({ user_id: newUser() });
      const session = http2.connect(s.t.baseUrl);
      try {
        const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": "/v1/sessions/authenticate",
            authorization: basic(PROJECT_ID, TEST_API_KEY),
            "content-type": "application/json",
          });
          let status = 0;
          let text = "";
          stream.on("response", (headers) => {
            status = Number(headers[":status"]);
          });
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => {
            text += chunk;
          });
          stream.on("end", () => resolve({ status, text }));
          stream.on("error", reject);
          stream.end(JSON.stringify({ session_token: created.session_token }));
        });
        expect(status).toBe(200);
        expect(JSON.parse(text)).toMatchObject({
          status_code: 200,
          session: { session_id: created.session.session_id },
        });
      } finally {
        session.close();
      }
    });

    it("gives every response its own request_id", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) ids.add(((await (await s.fetch("/v1/nowhere")).json()) as StytchBody).request_id);
      expect(ids.size).toBe(3);
    });
  });

  describe("credentials", () => {
    it.each([
      ["no authorization header", null],
      ["a Bearer key", `Bearer ${TEST_API_KEY}`],
      ["Basic without a colon", `Basic ${Buffer.from(TEST_API_KEY).toString("base64")}`],
      ["a wrong secret", basic(PROJECT_ID, "wrong-secret-0123456789")],
      ["another project id", basic("project-test-other", TEST_API_KEY)],
      ["garbage", "Basic !!!"],
    ])("answers 401 unauthorized_credentials for %s", async (_name, auth) => {
      const res = await s.fetch(`/v1/sessions?user_id=${newUser()}`, { auth });
      const body = await expectError(res, 401, "unauthorized_credentials");
      expect(JSON.stringify(body)).not.toContain(TEST_API_KEY);
    });

    it.each([
      ["no authorization header", null],
      ["wrong credentials", basic(PROJECT_ID, "wrong-secret-0123456789")],
    ])("serves the JWKS with %s", async (_name, auth) => {
      const res = await s.fetch(`/v1/sessions/jwks/${PROJECT_ID}`, { auth });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { keys: unknown[]; status_code: number };
      expect(body.status_code).toBe(200);
      expect(body.keys.length).toBeGreaterThan(0);
    });
  });

  describe("bodies", () => {
    it.each([
      ["malformed JSON", '{"session_token": '],
      ["a JSON array", "[]"],
      ["a JSON string", '"token"'],
      ["JSON null", "null"],
    ])("answers 400 bad_request for %s", async (_name, body) => {
      await expectError(await post("/v1/sessions/authenticate", body), 400, "bad_request");
    });

    it("answers 400 bad_request for a body that is not UTF-8", async () => {
      const res = await s.fetch("/v1/sessions/authenticate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      });
      await expectError(res, 400, "bad_request");
    });

    it("answers 400 bad_request for a session_token that is not a string", async () => {
      await expectError(await post("/v1/sessions/authenticate", '{"session_token": 5}'), 400, "bad_request");
    });

    it("answers 400 no_session_arguments for an empty body", async () => {
      await expectError(await post("/v1/sessions/authenticate", ""), 400, "no_session_arguments");
    });

    it("answers 400 bad_request for claims that are not an object, as for any field of the wrong type", async () => {
      const created = await s.create({ user_id: newUser() });
      const body = JSON.stringify({ session_token: created.session_token, session_custom_claims: [1] });
      await expectError(await post("/v1/sessions/authenticate", body), 400, "bad_request");
    });

    it("answers 413 request_too_large for a body over MAX_REQUEST_BYTES", async () => {
      const body = JSON.stringify({ session_token: "t", pad: "x".repeat(70_000) });
      await expectError(await post("/v1/sessions/authenticate", body), 413, "request_too_large");
    });

    it.each([
      ["no user_id", {}, "invalid_user_id"],
      ["a user_id that is too long", { user_id: "u".repeat(129) }, "invalid_user_id"],
      ["roles that are not strings", { user_id: "u", roles: [1] }, "bad_request"],
      ["an empty role name", { user_id: "u", roles: [""] }, "invalid_rbac_role_id"],
      ["101 roles", { user_id: "u", roles: Array.from({ length: 101 }, (_, i) => `r${i}`) }, "too_many_roles"],
      ["attributes that are not an object", { user_id: "u", attributes: "x" }, "bad_request"],
      [
        "an ip_address over 64 characters",
        { user_id: "u", attributes: { ip_address: "1".repeat(65) } },
        "invalid_ip_address",
      ],
      [
        "a user_agent over 1024 characters",
        { user_id: "u", attributes: { user_agent: "a".repeat(1025) } },
        "invalid_user_agent",
      ],
      ["a reserved claim", { user_id: "u", session_custom_claims: { sub: "x" } }, "reserved_claims_in_custom_claims"],
      ["a duration of 4 minutes", { user_id: "u", session_duration_minutes: 4 }, "invalid_session_duration_minutes"],
    ])("create answers 400 for %s", async (_name, body, errorType) => {
      await expectError(await post("/v1/sessions/tessera/create", JSON.stringify(body)), 400, errorType);
    });

    it("GET /v1/sessions without user_id answers 400 invalid_user_id", async () => {
      await expectError(await s.fetch("/v1/sessions"), 400, "invalid_user_id");
    });
  });

  describe("a rejected request changes nothing", () => {
    it.each([
      [
        "missing credentials",
        null,
        (token: string) => ({ session_token: token, session_duration_minutes: 600, session_custom_claims: { k: 2 } }),
      ],
      [
        "a reserved claim next to a valid one",
        undefined,
        (token: string) => ({
          session_token: token,
          session_duration_minutes: 600,
          session_custom_claims: { k: 2, iat: 1 },
        }),
      ],
      [
        "too many credentials",
        undefined,
        (token: string) => ({
          session_token: token,
          session_jwt: "x.y.z",
          session_duration_minutes: 600,
          session_custom_claims: { k: 2 },
        }),
      ],
      [
        "a bad duration",
        undefined,
        (token: string) => ({ session_token: token, session_duration_minutes: 3, session_custom_claims: { k: 2 } }),
      ],
      [
        "an authorization_check the (empty) policy denies",
        undefined,
        (token: string) => ({
          session_token: token,
          session_custom_claims: { k: 2 },
          authorization_check: { resource_id: "r", action: "a" },
        }),
      ],
    ])("for %s", async (_name, auth, body) => {
      const user = newUser();
      const created = await s.create({ user_id: user, session_custom_claims: { k: 1 } });
      const before = await stored(user);
      const res = await post("/v1/sessions/authenticate", JSON.stringify(body(created.session_token)), auth);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(await stored(user)).toStrictEqual(before);
      expect(before).toStrictEqual([created.session]);
    });

    it("for a revoke without credentials", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user });
      const res = await post("/v1/sessions/revoke", JSON.stringify({ session_id: created.session.session_id }), null);
      expect(res.status).toBe(401);
      expect(await stored(user)).toStrictEqual([created.session]);
    });
  });

  it("never logs tokens, JWTs or the secret", async () => {
    const created = await s.create({ user_id: newUser(), session_custom_claims: { secret_claim: "claim-value-9f8e" } });
    await post("/v1/sessions/authenticate", JSON.stringify({ session_token: created.session_token }));
    await post(
      "/v1/sessions/authenticate",
      JSON.stringify({ session_jwt: created.session_jwt }),
      basic(PROJECT_ID, "wrong-secret-0123456789"),
    );
    const text = s.t.logText();
    expect(s.t.logs.some((l) => l.msg === "rpc" && l.surface === "stytch")).toBe(true);
    for (const secret of [
      created.session_token,
      created.session_jwt,
      TEST_API_KEY,
      "claim-value-9f8e",
      "wrong-secret-0123456789",
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it("logs and counts Stytch calls like RPCs, one line and one sample per call, by route pattern", async () => {
    const before = parseMetrics(await (await fetch(`${s.t.baseUrl}/metrics`)).text());
    const metric = "tessera_rpc_requests_total";
    const okLabels = { method: "POST /v1/sessions/authenticate", code: "ok" };
    const notFound = { method: "POST /v1/sessions/authenticate", code: "not_found" };
    const created = await s.create({ user_id: newUser() });
    await post("/v1/sessions/authenticate", JSON.stringify({ session_token: created.session_token }));
    await post("/v1/sessions/authenticate", JSON.stringify({ session_token: "no-such-token" }));
    const after = parseMetrics(await (await fetch(`${s.t.baseUrl}/metrics`)).text());
    expect(sampleValue(after, metric, okLabels) - sampleValue(before, metric, okLabels)).toBe(1);
    expect(sampleValue(after, metric, notFound) - sampleValue(before, metric, notFound)).toBe(1);
    const lines = s.t.logs.filter(
      (l) => l.msg === "rpc" && l.surface === "stytch" && l.error_type === "session_not_found",
    );
    expect(lines.at(-1)).toMatchObject({ method: "POST /v1/sessions/authenticate", code: "not_found", status: 404 });
    expect(String(lines.at(-1)?.request_id)).toMatch(/^request-id-/);
  });
});
