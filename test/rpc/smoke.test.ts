import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { PROTOCOLS, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(backends())("smoke on %s", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(() => t?.close());

  it.each(PROTOCOLS)("creates and patches a session over %s", async (protocol) => {
    const client = t.client(protocol);
    const created = await client.createSession({ userId: "u1", sessionCustomClaims: { key_1: 1, key_2: 2 } });
    const patched = await client.authenticateSession({
      credential: { case: "sessionToken", value: created.sessionToken },
      sessionCustomClaims: { key_1: 9 },
    });
    expect(patched.session?.customClaims).toEqual({ key_1: 9, key_2: 2 });
  });
});
