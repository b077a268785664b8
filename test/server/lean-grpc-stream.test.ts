import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import {
  AuthenticateSessionRequestSchema,
  CreateSessionRequestSchema,
  GetJwksRequestSchema,
} from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { backends } from "../support/backends.js";
import { collectStream } from "../support/h2-client-stream.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";

// Plain gRPC unary calls are served on their HTTP/2 stream (src/server/lean-grpc-stream.ts), without
// node's compatibility objects; these tests hold that path to what the compatibility path did.

const SERVICE = "/tessera.sessions.v1.SessionService";
const WAIT_MS = 5_000;
const { NGHTTP2_CANCEL } = http2.constants;

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Opens a gRPC call; the caller writes (or does not write) its body. */
function open(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}) {
  const stream = session.request(
    {
      ":method": "POST",
      ":path": `${SERVICE}/${path}`,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${TEST_API_KEY}`,
      ...headers,
    },
    { endStream: false },
  );
  const outcome = collectStream(stream);
  return { stream, outcome };
}

/** One whole call. */
function call(session: http2.ClientHttp2Session, path: string, body: Uint8Array, headers?: http2.OutgoingHttpHeaders) {
  const { stream, outcome } = open(session, path, headers);
  stream.end(body);
  return outcome;
}

const jwksBody = () => frame(toBinary(GetJwksRequestSchema, create(GetJwksRequestSchema)));

function reasonOf(trailers: http2.IncomingHttpHeaders): string | undefined {
  const bin = trailers["grpc-status-details-bin"];
  if (typeof bin !== "string") return undefined;
  // google.rpc.Status: field 3 holds Any messages; the detail is the first one's value.
  const status = Buffer.from(bin, "base64");
  const any = readField(status, 3);
  const value = any === undefined ? undefined : readField(any, 2);
  return value === undefined ? undefined : fromBinary(ErrorDetailSchema, value).reason;
}

/** The first length-delimited field `number` of a protobuf message (enough for google.rpc.Status and Any). */
function readField(bytes: Buffer, number: number): Buffer | undefined {
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = varint();
      if (key >>> 3 === number) return bytes.subarray(at, at + length);
      at += length;
    } else return undefined;
  }
  return undefined;
}

describe.each(backends())("gRPC unary calls served on their HTTP/2 stream, on %s", (backend) => {
  let t: TestApp;
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = () => {
    const session = http2.connect(t.baseUrl);
    session.on("error", () => {});
    sessions.push(session);
    return session;
  };
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await t.app.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return found?.value ?? 0;
  };
  const leanCalls = () => metric("tessera_rpc_lean_calls_total");
  const rpcLines = (requestId: string) => t.logs.filter((l) => l.msg === "rpc" && l.request_id === requestId);
  const released = () =>
    vi.waitFor(() => expect(t.server.stats()).toMatchObject({ http2Streams: 0 }), { timeout: WAIT_MS, interval: 10 });

  beforeAll(async () => {
    t = await startTestApp(backend, { REQUEST_BODY_TIMEOUT_MS: "1500" });
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.destroy();
  });
  afterAll(() => t?.close());

  it("serves each call on one connection (the lean metric counts every one), with the headers as before", async () => {
    const session = connect();
    const before = await leanCalls();
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call(session, "GetJwks", jwksBody(), { "x-request-id": `stream-${i}`, "grpc-accept-encoding": "gzip" }),
      ),
    );
    expect((await leanCalls()) - before).toBe(5);
    outcomes.forEach((out, i) => {
      expect(out.headers[":status"]).toBe(200);
      expect(out.headers["content-type"]).toBe("application/grpc+proto");
      expect(out.headers["x-request-id"]).toBe(`stream-${i}`);
      expect(out.headers.date).toBeTypeOf("string");
      expect(out.trailers).toMatchObject({ "grpc-status": "0" });
      expect(out.body.readUInt32BE(1)).toBe(out.body.length - 5);
      expect(rpcLines(`stream-${i}`)).toEqual([expect.objectContaining({ code: "ok" })]);
    });
    await released();
  });

  it("a domain error: grpc-status, grpc-message and the detail in the trailers, no body, counted as lean", async () => {
    const before = await leanCalls();
    const request = create(AuthenticateSessionRequestSchema, {
      credential: { case: "sessionToken", value: "no-such-token-0123456789" },
    });
    const out = await call(
      connect(),
      "AuthenticateSession",
      frame(toBinary(AuthenticateSessionRequestSchema, request)),
      {
        "x-request-id": "stream-not-found",
      },
    );
    expect((await leanCalls()) - before).toBe(1);
    expect(out.trailers["grpc-status"]).toBe("5");
    expect(out.trailers["grpc-message"]).toBeTypeOf("string");
    expect(reasonOf(out.trailers)).toBe("SESSION_NOT_FOUND");
    expect(out.trailers["x-request-id"]).toBe("stream-not-found");
    expect(out.body.length).toBe(0);
    expect(rpcLines("stream-not-found")).toEqual([expect.objectContaining({ code: "not_found" })]);
  });

  it("a body over MAX_REQUEST_BYTES: refused with its reason, logged once; the connection serves the next call", async () => {
    const session = connect();
    const before = await leanCalls();
    const big = frame(
      toBinary(CreateSessionRequestSchema, create(CreateSessionRequestSchema, { userId: "x".repeat(70_000) })),
    );
    const out = await call(session, "CreateSession", big, { "x-request-id": "stream-too-big" });
    expect(out.trailers["grpc-status"]).toBe("8");
    expect(reasonOf(out.trailers)).toBeTypeOf("string");
    expect((await leanCalls()) - before).toBe(0);
    expect(rpcLines("stream-too-big")).toEqual([expect.objectContaining({ code: "resource_exhausted" })]);
    expect((await call(session, "GetJwks", jwksBody())).trailers["grpc-status"]).toBe("0");
    await released();
  });

  it("a wrong API key: refused from the headers before any body, logged once, not served by the lean path", async () => {
    const before = await leanCalls();
    const { stream, outcome } = open(connect(), "CreateSession", {
      authorization: "Bearer wrong-key-0123456789abcdef",
      "x-request-id": "stream-bad-key",
    });
    // Five bytes of a 1,000-byte message: a server reading the body would wait for the rest.
    stream.write(Buffer.from([0, 0, 0, 0x03, 0xe8]));
    const out = await outcome;
    expect(out.trailers["grpc-status"]).toBe("16");
    expect(reasonOf(out.trailers)).toBe("INVALID_API_KEY");
    expect((await leanCalls()) - before).toBe(0);
    expect(rpcLines("stream-bad-key")).toEqual([expect.objectContaining({ code: "unauthenticated" })]);
    await released();
  });

  it("a client resetting its stream mid-body: logged once, the stream released, the connection still serves", async () => {
    const session = connect();
    const { stream, outcome } = open(session, "GetJwks", { "x-request-id": "stream-reset" });
    stream.write(Buffer.from([0, 0, 0, 0, 9, 1]));
    await vi.waitFor(() => expect(t.server.stats().http2Streams).toBeGreaterThan(0), { timeout: WAIT_MS, interval: 5 });
    stream.close(NGHTTP2_CANCEL);
    await outcome;
    await vi.waitFor(() => expect(rpcLines("stream-reset")).toHaveLength(1), { timeout: WAIT_MS, interval: 10 });
    await released();
    expect((await call(session, "GetJwks", jwksBody())).trailers["grpc-status"]).toBe("0");
  });

  it("a body that stalls: cancelled at REQUEST_BODY_TIMEOUT_MS, counted, logged once, released", async () => {
    const before = await metric("tessera_connection_timeouts_total", { kind: "body" });
    const { stream, outcome } = open(connect(), "GetJwks", { "x-request-id": "stream-stalled" });
    stream.write(Buffer.from([0, 0, 0, 0, 9, 1]));
    const out = await outcome;
    expect(out.rstCode).toBe(NGHTTP2_CANCEL);
    expect((await metric("tessera_connection_timeouts_total", { kind: "body" })) - before).toBe(1);
    await vi.waitFor(() => expect(rpcLines("stream-stalled")).toHaveLength(1), { timeout: WAIT_MS, interval: 10 });
    await released();
  });
});

describe.each(backends())("graceful shutdown with a call on its stream, on %s", (backend) => {
  it("answers the call in flight, then closes (nothing left held)", async () => {
    const t = await startTestApp(backend);
    const session = http2.connect(t.baseUrl);
    session.on("error", () => {});
    try {
      const { stream, outcome } = open(session, "GetJwks");
      const body = jwksBody();
      stream.write(body.subarray(0, 2));
      await vi.waitFor(() => expect(t.server.stats().http2Streams).toBe(1), { timeout: WAIT_MS, interval: 5 });
      const closed = t.app.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      stream.end(body.subarray(2));
      expect((await outcome).trailers["grpc-status"]).toBe("0");
      await closed;
      await vi.waitFor(
        () => expect(t.server.stats()).toMatchObject({ connections: 0, http2Sessions: 0, http2Streams: 0 }),
        { timeout: WAIT_MS, interval: 10 },
      );
    } finally {
      session.destroy();
      await t.close();
    }
  });
});
