import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyCheck } from "../../src/rpc/api-key.js";
import { expectFailure } from "../rpc/helpers.js";
import { basic, PROJECT_ID, type StytchTestApp, startStytchApp } from "../stytch/helpers.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";

/** HTTP Basic with an arbitrary decoded payload (which may lack the colon). */
function rawBasic(payload: string): string {
  return `Basic ${Buffer.from(payload).toString("base64")}`;
}

describe("createApiKeyCheck", () => {
  it("refuses to be built without keys, or with an empty or short key", () => {
    expect(() => createApiKeyCheck([])).toThrow("at least one key");
    expect(() => createApiKeyCheck([""])).toThrow("at least 16 characters");
    expect(() => createApiKeyCheck([TEST_API_KEY, "fifteen-chars-k"])).toThrow("at least 16 characters");
  });

  it("never matches an empty or short presented key, and matches the configured one", () => {
    const check = createApiKeyCheck([TEST_API_KEY]);
    expect(check("")).toBe(false);
    expect(check(TEST_API_KEY.slice(0, 15))).toBe(false);
    expect(check(`${TEST_API_KEY}x`)).toBe(false);
    expect(check(TEST_API_KEY)).toBe(true);
  });
});

/** Credentials that carry no secret at all, each of which used to pass when the key file was empty. */
const NO_SECRET: readonly [string, string][] = [
  ["an empty secret (project_id:)", basic(PROJECT_ID, "")],
  ["no colon (project_id alone)", rawBasic(PROJECT_ID)],
  ["an empty user and secret (:)", rawBasic(":")],
  ["an empty payload", rawBasic("")],
  ["whitespace as the secret", basic(PROJECT_ID, " ")],
];

describe.each(backends())("no empty secret is ever accepted, with a configured key, on %s", (backend) => {
  let s: StytchTestApp;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  it.each(NO_SECRET)("POST /v1/sessions/tessera/create with %s is 401 and creates nothing", async (_name, auth) => {
    const res = await s.fetch("/v1/sessions/tessera/create", {
      method: "POST",
      auth,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "no-secret-user" }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_type: string }).error_type).toBe("unauthorized_credentials");
    const listed = await s.fetch("/v1/sessions?user_id=no-secret-user");
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it("the configured key still works over Basic and Bearer", async () => {
    expect((await s.fetch("/v1/sessions?user_id=u", { auth: basic(PROJECT_ID, TEST_API_KEY) })).status).toBe(200);
    await s.t.client("connect").listSessions({ userId: "u" });
  });

  it("Connect with an empty bearer token, or Basic credentials, is UNAUTHENTICATED", async () => {
    for (const header of ["Bearer ", "Bearer", basic(PROJECT_ID, TEST_API_KEY), basic(PROJECT_ID, "")]) {
      await expectFailure(
        s.t.client("connect", null).createSession({ userId: "no-secret-user" }, { headers: { authorization: header } }),
        Code.Unauthenticated,
        "INVALID_API_KEY",
      );
    }
    expect((await s.t.client("connect").listSessions({ userId: "no-secret-user" })).sessions).toEqual([]);
  });
});

describe("no empty secret is accepted with the generated key file (embedded database)", () => {
  let s: StytchTestApp;
  beforeAll(async () => {
    // No API_KEYS: the key comes from DATA_DIR/api-key, written on first start.
    s = await startStytchApp("pglite", { API_KEYS: "" });
  });
  afterAll(() => s?.close());

  it.each(NO_SECRET)("refuses %s, and accepts the generated key", async (_name, auth) => {
    const key = readFileSync(join(s.t.app.config.dataDir, "api-key"), "utf8").trim();
    expect(key.length).toBeGreaterThanOrEqual(16);
    expect((await s.fetch("/v1/sessions?user_id=u", { auth })).status).toBe(401);
    expect((await s.fetch("/v1/sessions?user_id=u", { auth: basic(PROJECT_ID, key) })).status).toBe(200);
  });
});
