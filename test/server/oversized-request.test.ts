import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { startTestApp, TEST_API_KEY, useTestApp } from "../support/test-app.js";

const auth = { authorization: `Bearer ${TEST_API_KEY}` };

/** The code a call failed with. */
async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

// One backend is enough: this is about the HTTP layer, not storage.
describe("a request over the size limit", () => {
  const t = useTestApp("pglite");

  it.each([
    "1.1",
    "2",
  ] as const)("is refused over HTTP/%s and the same connection then serves the next call", async (httpVersion) => {
    const client = createClient(
      SessionService,
      createConnectTransport({ baseUrl: t.baseUrl, httpVersion, defaultTimeoutMs: 20_000 }),
    );
    const big = { big: "x".repeat(1024 * 1024) };
    expect(await codeOf(client.createSession({ userId: "u", sessionCustomClaims: big }, { headers: auth }))).toBe(
      Code.ResourceExhausted,
    );
    const next = await client.createSession({ userId: "u" }, { headers: auth });
    expect(next.session?.userId).toBe("u");
  });

  it("does not hold up shutdown", async () => {
    const other = await startTestApp("pglite");
    const client = createClient(
      SessionService,
      createConnectTransport({ baseUrl: other.baseUrl, httpVersion: "2", defaultTimeoutMs: 20_000 }),
    );
    const big = { big: "x".repeat(1024 * 1024) };
    expect(await codeOf(client.createSession({ userId: "u", sessionCustomClaims: big }, { headers: auth }))).toBe(
      Code.ResourceExhausted,
    );
    const started = Date.now();
    await other.close();
    // Not a timing assertion on speed: the shutdown deadline is 10 s, and a
    // half-open stream would hold close() until it expires.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
