import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticateSessionRequestSchema, SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import type { JsonObject } from "../../src/claims/json.js";
import { backends } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";
import { deepStructBinary, outcomeOf, rawGrpcCall, storedSnapshot, wire } from "./hostile-support.js";

const DEPTH = 10_000;

const apiKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${TEST_API_KEY}`);
  return next(req);
};

describe.each(backends())("hostile input on %s", (backend) => {
  let t: TestApp;
  let roomy: TestApp;
  let token: string;

  /** Runs `attack`, then checks the stored data is byte-identical and the server still serves. */
  async function unchangedBy<T>(app: TestApp, attack: () => Promise<T>): Promise<T> {
    const before = await storedSnapshot(app);
    const result = await attack();
    expect(await storedSnapshot(app)).toBe(before);
    const alive = await app.client("grpc").createSession({ userId: "still-alive" });
    expect(alive.sessionToken).not.toBe("");
    return result;
  }

  beforeAll(async () => {
    [t, roomy] = await Promise.all([
      startTestApp(backend),
      // A limit large enough for a 10,000-deep binary Struct to reach the decoder and the claims checks.
      startTestApp(backend, { MAX_REQUEST_BYTES: "4194304" }),
    ]);
    token = (await t.client("grpc").createSession({ userId: "victim", sessionCustomClaims: { keep: "me" } }))
      .sessionToken;
  });
  afterAll(() => Promise.all([t?.close(), roomy?.close()]));

  // protobuf-es stops decoding at 100 nested messages, before the service sees the request; Connect maps an
  // undecodable binary message to INTERNAL (as grpc-go does), and src/server/error-details.ts adds the
  // ErrorDetail with the runtime reason.
  it("refuses a patch nested 10,000 levels deep in binary protobuf over gRPC at the decoder's recursion limit", async () => {
    const victim = await roomy.client("grpc").createSession({ userId: "deep" });
    const message = wire.concat(
      wire.field(1, new TextEncoder().encode(victim.sessionToken)),
      wire.field(4, deepStructBinary(DEPTH)),
    );
    const outcome = await unchangedBy(roomy, () => rawGrpcCall(roomy.baseUrl, "AuthenticateSession", message));
    expect(outcome.code).toBe(Code.Internal);
    expect(outcome.reason).toBe("RPC_INTERNAL");
    expect(outcome.message).toContain("maximum recursion depth");
  });

  it("refuses a patch nested 10,000 levels deep in JSON over Connect with INVALID_ARGUMENT", async () => {
    const deep = `${'{"a":'.repeat(DEPTH)}true${"}".repeat(DEPTH)}`;
    const body = `{"sessionToken":${JSON.stringify(token)},"sessionCustomClaims":${deep}}`;
    const res = await unchangedBy(t, () =>
      fetch(`${t.baseUrl}/tessera.sessions.v1.SessionService/AuthenticateSession`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
        body,
      }),
    );
    const error = (await res.json()) as {
      code: string;
      message: string;
      details?: { type: string; debug?: unknown }[];
    };
    expect(res.status).toBe(400);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("maximum recursion depth");
    expect(error.details).toEqual([
      expect.objectContaining({ type: "tessera.sessions.v1.ErrorDetail", debug: { reason: "RPC_INVALID_ARGUMENT" } }),
    ]);
  });

  it("applies a patch nested exactly to the depth limit and refuses one level more with INVALID_CLAIMS", async () => {
    const client = t.client("grpc");
    const s = await client.createSession({ userId: "depth" });
    const nest = (levels: number) => {
      let value: JsonObject = { leaf: true };
      for (let i = 1; i < levels; i++) value = { a: value };
      return value;
    };
    // The claims object is level 1, so a patch object nested 32 deep is the limit.
    const ok = await client.authenticateSession({
      credential: { case: "sessionToken", value: s.sessionToken },
      sessionCustomClaims: nest(32),
    });
    expect(ok.session?.claimsVersion).toBe(1n);
    const outcome = await unchangedBy(t, () =>
      outcomeOf(
        client.authenticateSession({
          credential: { case: "sessionToken", value: s.sessionToken },
          sessionCustomClaims: nest(33),
        }),
      ),
    );
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_CLAIMS" });
  });

  it("refuses a 1 MiB request with RESOURCE_EXHAUSTED (the 64 KiB limit) over gRPC, gRPC-Web and Connect", async () => {
    const patch = { big: "x".repeat(1024 * 1024) };
    // Connect over HTTP/2 here; HTTP/1.1 keep-alive after a refused body is covered in test/server/oversized-request.test.ts.
    const connectH2 = createClient(
      SessionService,
      createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "2", interceptors: [apiKey] }),
    );
    for (const client of [t.client("grpc"), t.client("grpc-web"), connectH2]) {
      const outcome = await unchangedBy(t, () =>
        outcomeOf(
          client.authenticateSession({
            credential: { case: "sessionToken", value: token },
            sessionCustomClaims: patch,
          }),
        ),
      );
      expect(outcome).toMatchObject({ code: Code.ResourceExhausted, reason: "RPC_RESOURCE_EXHAUSTED" });
    }
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ])("rejects %s sent as Value.number_value in gRPC binary", async (_name, value) => {
    const request = create(AuthenticateSessionRequestSchema, {
      credential: { case: "sessionToken", value: token },
      sessionCustomClaims: { n: { nested: value } },
    });
    const outcome = await unchangedBy(t, () =>
      rawGrpcCall(t.baseUrl, "AuthenticateSession", toBinary(AuthenticateSessionRequestSchema, request)),
    );
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_CLAIMS" });
    expect(outcome.message).toContain("/n/nested");
  });

  it("rejects a 10,000-character key as too large, without echoing it", async () => {
    const key = "k".repeat(10_000);
    const outcome = await unchangedBy(t, () =>
      outcomeOf(
        t.client("grpc").authenticateSession({
          credential: { case: "sessionToken", value: token },
          sessionCustomClaims: { [key]: 1 },
        }),
      ),
    );
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason: "CLAIMS_TOO_LARGE" });
    expect(outcome.message.length).toBeLessThan(300);
  });

  it("accepts an empty key as an ordinary claim name (RFC 7396 allows it) and deletes it with null", async () => {
    const client = t.client("grpc");
    const s = await client.createSession({ userId: "empty-key" });
    const set = await client.authenticateSession({
      credential: { case: "sessionToken", value: s.sessionToken },
      sessionCustomClaims: { "": "v" },
    });
    expect(set.session?.customClaims).toEqual({ "": "v" });
    expect(decodeJwt(set.sessionJwt)[""]).toBe("v");
    const gone = await client.authenticateSession({
      credential: { case: "sessionToken", value: s.sessionToken },
      sessionCustomClaims: { "": null },
    });
    expect(gone.session?.customClaims).toEqual({});
  });

  it.each([
    "connect",
    "grpc",
    "grpc-web",
  ] as const)("round-trips non-ASCII keys and values over %s, into the JWT", async (protocol) => {
    const claims = { ключ: "значение", 鍵: "値 🎉", "emoji 👩‍💻": { ñ: "café\u0301", "\u200b": "zero width" } };
    const client = t.client(protocol);
    const s = await client.createSession({ userId: "ユーザー" });
    const res = await client.authenticateSession({
      credential: { case: "sessionToken", value: s.sessionToken },
      sessionCustomClaims: claims,
    });
    expect(res.session?.customClaims).toEqual(claims);
    const payload = decodeJwt(res.sessionJwt);
    expect(payload["鍵"]).toBe("値 🎉");
    expect(payload["emoji 👩‍💻"]).toEqual(claims["emoji 👩‍💻"]);
    const again = await client.authenticateSession({ credential: { case: "sessionToken", value: s.sessionToken } });
    expect(again.session?.customClaims).toEqual(claims);
  });

  it("accepts claims of exactly 4096 UTF-8 bytes and rejects 4097, counting multi-byte characters as bytes", async () => {
    const client = t.client("grpc");
    const s = await client.createSession({ userId: "limit" });
    const credential = { case: "sessionToken" as const, value: s.sessionToken };
    // {"k":"…"} is 8 bytes of ASCII; each 😀 is 4 UTF-8 bytes but 2 UTF-16 units.
    const exact = { k: "😀".repeat(1022) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(4096);
    expect(JSON.stringify(exact).length).toBe(2052);
    const ok = await client.authenticateSession({ credential, sessionCustomClaims: exact });
    expect(ok.session?.customClaims).toEqual(exact);

    const over = { k: `${"é".repeat(2044)}a` };
    expect(Buffer.byteLength(JSON.stringify(over))).toBe(4097);
    const outcome = await unchangedBy(t, () =>
      outcomeOf(client.authenticateSession({ credential, sessionCustomClaims: over })),
    );
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason: "CLAIMS_TOO_LARGE" });
    expect(outcome.message).toContain("4097");
  });
});
