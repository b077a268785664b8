import { type Client, Code, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import type { JsonObject } from "../../src/claims/json.js";
import { backends } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";
import { outcomeOf, rawGrpcCall, storedSnapshot, wire } from "./hostile-support.js";

// PostgreSQL's text and jsonb refuse U+0000, and a lone surrogate has no UTF-8 encoding: such strings used to reach
// the database and come back as INTERNAL with an error-level log. They are refused at the edge and in the claims core.

const MARK = "v4lue-mark";
const NUL = `a\u0000${MARK}`;
const LONE = [`\uD800${MARK}`, `${MARK}\uDFFF`];

const apiKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${TEST_API_KEY}`);
  return next(req);
};

/**
 * Each wire format a client can use (connect-node's transports default to binary); binary protobuf carries
 * NUL, only JSON can carry a lone surrogate (encoders turn it into U+FFFD in UTF-8).
 */
const WIRES: Readonly<Record<string, { binary: boolean; make: (baseUrl: string) => Transport }>> = {
  "Connect JSON": {
    binary: false,
    make: (baseUrl) =>
      createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors: [apiKey] }),
  },
  "Connect binary": {
    binary: true,
    make: (baseUrl) =>
      createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors: [apiKey] }),
  },
  "gRPC binary": { binary: true, make: (baseUrl) => createGrpcTransport({ baseUrl, interceptors: [apiKey] }) },
  "gRPC-Web binary": {
    binary: true,
    make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2", interceptors: [apiKey] }),
  },
  "gRPC-Web JSON": {
    binary: false,
    make: (baseUrl) =>
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors: [apiKey] }),
  },
};

type Call = (client: Client<typeof SessionService>, token: string, bad: string) => Promise<unknown>;

/** Every string a caller sends, the call that sends it, and the reason its refusal carries. */
const FIELDS: ReadonlyArray<readonly [string, string, Call]> = [
  ["CreateSession user_id", "INVALID_USER_ID", (c, _t, bad) => c.createSession({ userId: bad })],
  ["ListSessions user_id", "INVALID_USER_ID", (c, _t, bad) => c.listSessions({ userId: bad })],
  ["roles", "INVALID_ROLES", (c, _t, bad) => c.createSession({ userId: "u", roles: ["ok", bad] })],
  [
    "ip_address",
    "INVALID_ATTRIBUTES",
    (c, _t, bad) => c.createSession({ userId: "u", attributes: { ipAddress: bad } }),
  ],
  [
    "user_agent",
    "INVALID_ATTRIBUTES",
    (c, _t, bad) => c.createSession({ userId: "u", attributes: { userAgent: bad } }),
  ],
  [
    "session_token",
    "INVALID_SESSION_CREDENTIAL",
    (c, _t, bad) => c.authenticateSession({ credential: { case: "sessionToken", value: bad } }),
  ],
  [
    "session_id",
    "INVALID_SESSION_CREDENTIAL",
    (c, _t, bad) => c.revokeSession({ target: { case: "sessionId", value: bad } }),
  ],
  [
    "a claim value at creation",
    "INVALID_CLAIMS",
    (c, _t, bad) => c.createSession({ userId: "u", sessionCustomClaims: { k: bad } }),
  ],
  [
    "a nested claim key at creation",
    "INVALID_CLAIMS",
    (c, _t, bad) => c.createSession({ userId: "u", sessionCustomClaims: { o: { [bad]: 1 } } }),
  ],
  ["a claim key in a patch", "INVALID_CLAIMS", (c, t, bad) => patch(c, t, { [bad]: 1 })],
  ["a claim key deleted in a patch", "INVALID_CLAIMS", (c, t, bad) => patch(c, t, { [bad]: null })],
  ["a nested claim value in a patch", "INVALID_CLAIMS", (c, t, bad) => patch(c, t, { o: { list: [1, bad] } })],
];

function patch(client: Client<typeof SessionService>, token: string, claims: JsonObject): Promise<unknown> {
  return client.authenticateSession({
    credential: { case: "sessionToken", value: token },
    sessionCustomClaims: claims,
  });
}

describe.each(backends())("NUL characters and lone surrogates on %s", (backend) => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp(backend);
    token = (await t.client("grpc").createSession({ userId: "victim", sessionCustomClaims: { keep: "me" } }))
      .sessionToken;
  });
  afterAll(() => t?.close());

  const errorLines = () => t.logs.filter((line) => Number(line.level) >= 50);

  /** Runs a call that must be refused with INVALID_ARGUMENT and `reason`, storing nothing and logging no error. */
  async function expectRefused(call: () => Promise<unknown>, reason: string, bad: string) {
    const before = await storedSnapshot(t);
    const errorsBefore = errorLines().length;
    // The call starts only now: a rejection must never wait unobserved behind the snapshot.
    const outcome = await outcomeOf(call());
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason });
    expect(outcome.message).not.toContain(MARK);
    expect(outcome.message).not.toContain(bad);
    expect(await storedSnapshot(t)).toBe(before);
    expect(errorLines().slice(errorsBefore)).toStrictEqual([]);
  }

  describe.each(Object.keys(WIRES))("over %s", (wireName) => {
    const client = () => createClient(SessionService, WIRES[wireName]?.make(t.baseUrl) as Transport);

    it.each(FIELDS)("refuses NUL in %s with %s", async (_field, reason, call) => {
      await expectRefused(() => call(client(), token, NUL), reason, NUL);
    });
  });

  // Only JSON can carry a lone surrogate. protobuf-es' JSON reader refuses one in a string field (its UTF-8
  // check) before Tessera runs; inside the claims Struct it arrives, and the claims core refuses it.
  describe.each(Object.keys(WIRES).filter((name) => !WIRES[name]?.binary))("over %s", (wireName) => {
    const client = () => createClient(SessionService, WIRES[wireName]?.make(t.baseUrl) as Transport);

    it.each(FIELDS)("refuses lone surrogates in %s (%s)", async (_field, reason, call) => {
      const expected = reason === "INVALID_CLAIMS" ? reason : "RPC_INVALID_ARGUMENT";
      for (const bad of LONE) await expectRefused(() => call(client(), token, bad), expected, bad);
    });
  });

  it("refuses NUL in a hand-built binary claim key over gRPC, where no client library is involved", async () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const entry = wire.field(1, wire.concat(wire.field(1, utf8(NUL)), wire.field(2, new Uint8Array([0x20, 0x01]))));
    const message = wire.concat(wire.field(1, utf8(token)), wire.field(4, entry));
    const before = await storedSnapshot(t);
    const outcome = await rawGrpcCall(t.baseUrl, "AuthenticateSession", message);
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_CLAIMS" });
    expect(outcome.message).not.toContain(MARK);
    expect(await storedSnapshot(t)).toBe(before);
  });

  it("still accepts the same fields with ordinary text, including surrogate pairs and other control characters", async () => {
    const c = t.client("connect");
    const text = "tab\there \u0001 😀 \uD834\uDD1E";
    const created = await c.createSession({
      userId: text,
      roles: [text],
      attributes: { ipAddress: "::1", userAgent: text },
      sessionCustomClaims: { [text]: { [text]: [text] } },
    });
    expect(created.session).toMatchObject({ userId: text, roles: [text], attributes: { userAgent: text } });
    const listed = await c.listSessions({ userId: text });
    expect(listed.sessions[0]?.customClaims).toStrictEqual({ [text]: { [text]: [text] } });
  });
});
