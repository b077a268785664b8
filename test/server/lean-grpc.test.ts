import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AuthenticateSessionRequestSchema,
  AuthenticateSessionResponseSchema,
  CreateSessionRequestSchema,
  GetJwksRequestSchema,
} from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, useTestApp } from "../support/test-app.js";

const SERVICE = "/tessera.sessions.v1.SessionService";

/** What a client sees of a gRPC response, minus what differs between any two calls (date, request id). */
interface Seen {
  readonly headers: Record<string, unknown>;
  readonly trailers: Record<string, unknown>;
  readonly body: Buffer;
  /** The response message: the body's one envelope, decompressed when it is flagged compressed. */
  readonly message: Buffer | undefined;
}

function frame(message: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

function withoutVarying(headers: http2.IncomingHttpHeaders): Record<string, unknown> {
  const { date: _date, "x-request-id": _id, ...rest } = headers;
  return { ...rest };
}

/** One raw gRPC call over h2c: the request body is sent as the given chunks. */
async function call(
  baseUrl: string,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  chunks: readonly Uint8Array[],
): Promise<Seen> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<Seen>((resolve, reject) => {
      session.on("error", reject);
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${TEST_API_KEY}`,
        ...headers,
      });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const data: Buffer[] = [];
      stream.on("response", (h) => {
        responseHeaders = h;
      });
      stream.on("trailers", (h) => {
        trailers = h;
      });
      stream.on("data", (chunk: Buffer) => data.push(chunk));
      stream.on("close", () => {
        const body = Buffer.concat(data);
        let message: Buffer | undefined;
        if (body.length >= 5) {
          const payload = body.subarray(5, 5 + body.readUInt32BE(1));
          message = body[0] === 1 ? gunzipSync(payload) : payload;
        }
        resolve({ headers: withoutVarying(responseHeaders), trailers: withoutVarying(trailers), body, message });
      });
      stream.on("error", reject);
      for (const chunk of chunks) stream.write(chunk);
      stream.end();
    });
  } finally {
    session.close();
  }
}

// A gRPC call over HTTP/2 to a unary procedure is served by the lean path (src/server/lean-grpc-unary.ts)
// unless it carries a deadline; with `grpc-timeout` it goes through Connect's own gRPC handler. A 60 s
// deadline changes nothing else, so both must answer byte for byte alike.
const THROUGH_CONNECT = { "grpc-timeout": "60S" };

describe.each(backends())("the lean gRPC path answers as Connect's gRPC handler does, on %s", (backend) => {
  const t = useTestApp(backend);
  /** Calls served by the lean path so far (tessera_rpc_lean_calls_total). */
  const leanCalls = async () =>
    (await t.app.metrics.registry.getSingleMetric("tessera_rpc_lean_calls_total")?.get())?.values[0]?.value ?? 0;
  /** The call without and with a deadline, and whether the lean path served each (the second never may). */
  const both = async (path: string, headers: http2.OutgoingHttpHeaders, chunks: readonly Uint8Array[]) => {
    const start = await leanCalls();
    const lean = await call(t.baseUrl, path, headers, chunks);
    const servedLean = (await leanCalls()) - start;
    const connect = await call(t.baseUrl, path, { ...headers, ...THROUGH_CONNECT }, chunks);
    expect((await leanCalls()) - start - servedLean).toBe(0);
    return { lean, connect, servedLean: servedLean === 1 };
  };
  const newSession = async (claims: Record<string, string> = {}) =>
    t.client("grpc").createSession({ userId: "lean-user", sessionCustomClaims: claims });

  it("a public call (GetJwks): same headers, trailers and body", async () => {
    const body = frame(toBinary(GetJwksRequestSchema, create(GetJwksRequestSchema)));
    const { lean, connect, servedLean } = await both(`${SERVICE}/GetJwks`, {}, [body]);
    expect(servedLean).toBe(true);
    expect(lean.trailers["grpc-status"]).toBe("0");
    expect(lean).toEqual(connect);
  });

  it("a successful AuthenticateSession: same headers and trailers, the same session", async () => {
    const created = await newSession({ plan: "pro" });
    const request = create(AuthenticateSessionRequestSchema, {
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    const { lean, connect, servedLean } = await both(`${SERVICE}/AuthenticateSession`, {}, [
      frame(toBinary(AuthenticateSessionRequestSchema, request)),
    ]);
    expect(servedLean).toBe(true);
    expect(lean.headers).toEqual(connect.headers);
    expect(Object.keys(lean.trailers)).toEqual(["grpc-status"]);
    expect(lean.trailers["grpc-status"]).toBe("0");
    expect(lean.trailers).toEqual(connect.trailers);
    const [a, b] = [lean, connect].map((seen) =>
      fromBinary(AuthenticateSessionResponseSchema, seen.message ?? Buffer.alloc(0)),
    );
    expect(a?.session?.sessionId).toBe(created.session?.sessionId);
    expect(a?.session?.customClaims).toEqual({ plan: "pro" });
    expect(b?.session?.sessionId).toBe(created.session?.sessionId);
    expect(a?.sessionToken).toBe(created.sessionToken);
  });

  it("a response of at least 1 KiB to a client accepting gzip: compressed alike", async () => {
    const created = await newSession({ note: "n".repeat(2_000) });
    const request = create(AuthenticateSessionRequestSchema, {
      credential: { case: "sessionToken", value: created.sessionToken },
    });
    const { lean, connect, servedLean } = await both(
      `${SERVICE}/AuthenticateSession`,
      { "grpc-accept-encoding": "gzip" },
      [frame(toBinary(AuthenticateSessionRequestSchema, request))],
    );
    expect(servedLean).toBe(true);
    expect(lean.headers["grpc-encoding"]).toBe("gzip");
    expect(lean.body[0]).toBe(1);
    expect(lean.headers).toEqual(connect.headers);
    expect(lean.trailers).toEqual(connect.trailers);
    const message = fromBinary(AuthenticateSessionResponseSchema, lean.message ?? Buffer.alloc(0));
    expect(message.session?.customClaims).toEqual({ note: "n".repeat(2_000) });
  });

  it("a domain error (unknown token): same trailers with the error detail, no body", async () => {
    // NOT_FOUND, reason SESSION_NOT_FOUND, in grpc-status-details-bin.
    const request = create(AuthenticateSessionRequestSchema, {
      credential: { case: "sessionToken", value: "no-such-token-0123456789" },
    });
    const { lean, connect, servedLean } = await both(`${SERVICE}/AuthenticateSession`, {}, [
      frame(toBinary(AuthenticateSessionRequestSchema, request)),
    ]);
    expect(servedLean).toBe(true);
    expect(lean.trailers["grpc-status"]).toBe("5");
    expect(lean.trailers["grpc-status-details-bin"]).toBeDefined();
    expect(lean.body.length).toBe(0);
    expect(lean).toEqual(connect);
  });

  it("a wrong API key: refused alike, from its headers (not served by the lean path)", async () => {
    const body = frame(toBinary(CreateSessionRequestSchema, create(CreateSessionRequestSchema, { userId: "u" })));
    const { lean, connect, servedLean } = await both(
      `${SERVICE}/CreateSession`,
      { authorization: "Bearer wrong-key-0123456789abcdef" },
      [body],
    );
    // Refused from its headers: handed to Connect's handler, which never reads the body.
    expect(servedLean).toBe(false);
    expect(lean.trailers["grpc-status"]).toBe("16");
    expect(lean).toEqual(connect);
  });

  it("a body the lean path does not take (undecodable, two messages, compressed flag, split, over the limit): alike", async () => {
    const valid = toBinary(CreateSessionRequestSchema, create(CreateSessionRequestSchema, { userId: "split-user" }));
    const bodies: ReadonlyArray<readonly Uint8Array[]> = [
      [frame(new Uint8Array([0x0a, 0x7f, 0x01]))],
      [frame(new Uint8Array()), frame(new Uint8Array())],
      [frame(new Uint8Array([0x0a, 0x01, 0x61]), 1)],
      [new Uint8Array([0, 0, 0])],
      [frame(new Uint8Array(70_000).fill(0x61))],
      [new Uint8Array(0)],
    ];
    for (const chunks of bodies) {
      const { lean, connect, servedLean } = await both(`${SERVICE}/CreateSession`, {}, chunks);
      expect(servedLean).toBe(false);
      expect(lean.trailers["grpc-status"]).not.toBe("0");
      expect(lean).toEqual(connect);
    }
    // A valid message split over several DATA frames is still one message.
    const split = frame(valid);
    const { lean, servedLean } = await both(`${SERVICE}/CreateSession`, {}, [
      split.subarray(0, 3),
      split.subarray(3, 9),
      split.subarray(9),
    ]);
    expect(servedLean).toBe(true);
    expect(lean.trailers["grpc-status"]).toBe("0");
  });

  it("logs one rpc line per call with its code, on either path", async () => {
    const before = t.logs.filter((line) => line.msg === "rpc").length;
    const body = frame(toBinary(GetJwksRequestSchema, create(GetJwksRequestSchema)));
    await both(`${SERVICE}/GetJwks`, { "x-request-id": "lean-log-check" }, [body]);
    await expect.poll(() => t.logs.filter((line) => line.request_id === "lean-log-check").length).toBe(2);
    expect(t.logs.filter((line) => line.msg === "rpc").length).toBe(before + 2);
    for (const line of t.logs.filter((l) => l.request_id === "lean-log-check")) {
      expect(line).toMatchObject({ method: "tessera.sessions.v1.SessionService/GetJwks", code: "ok" });
    }
  });
});
