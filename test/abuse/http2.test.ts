import http2 from "node:http2";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { backends } from "../support/backends.js";
import { collectStream, type StreamOutcome } from "../support/h2-client-stream.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";
import {
  closedBy,
  connectErrorOf,
  FRAME,
  grpcStatusOf,
  h2Frame,
  headerBlock,
  metric,
  rawConnect,
  rawH2,
  within,
} from "./abuse-support.js";

const WAIT_MS = 5_000;
const LIST_SESSIONS = "/tessera.sessions.v1.SessionService/ListSessions";
const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** A client stream that is never ended by the client; `outcome` settles when the server is done with it. */
function openStream(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
): { req: http2.ClientHttp2Stream; outcome: Promise<StreamOutcome> } {
  const req = session.request(headers, { endStream: false });
  return { req, outcome: collectStream(req, true) };
}

/** A gRPC envelope header announcing `length` bytes of message, followed by `sent` of them. */
function partialEnvelope(length: number, sent: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, Buffer.alloc(sent, 0x0a)]);
}

describe.each(backends())("HTTP/2 limits on %s", (backend) => {
  let t: TestApp;
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = () => {
    const session = http2.connect(t.baseUrl);
    session.on("error", () => {});
    sessions.push(session);
    return session;
  };
  beforeAll(async () => {
    t = await startTestApp(backend, {
      // Short, yet with room for the event loop of a busy machine.
      HEADERS_TIMEOUT_MS: "1000",
      REQUEST_BODY_TIMEOUT_MS: "1500",
      IDLE_TIMEOUT_MS: "1000",
      HTTP2_PING_TIMEOUT_MS: "300",
      HTTP2_MAX_CONCURRENT_STREAMS: "8",
    });
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.destroy();
  });
  afterAll(() => t?.close());

  it("advertises HTTP2_MAX_CONCURRENT_STREAMS and refuses a stream past it", async () => {
    const session = connect();
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(8);

    // A raw client ignores the setting: nine open streams, the ninth is refused.
    const raw = await rawH2(t.server.port);
    const open = headerBlock({
      ":method": "POST",
      ":scheme": "http",
      ":path": LIST_SESSIONS,
      ":authority": "tessera",
      "content-type": "application/grpc",
      authorization: `Bearer ${TEST_API_KEY}`,
    });
    for (let i = 0; i < 9; i++) raw.socket.write(h2Frame(FRAME.HEADERS, 0x4, 1 + 2 * i, open));
    await vi.waitFor(
      () => {
        const reset = raw.frames.find((f) => f.type === FRAME.RST_STREAM && f.streamId === 17);
        expect(reset?.payload.readUInt32BE(0)).toBe(NGHTTP2_REFUSED_STREAM);
      },
      { timeout: WAIT_MS, interval: 10 },
    );
    raw.socket.destroy();
  });

  it("answers a call without a valid API key before its body arrives, in gRPC, gRPC-Web and Connect", async () => {
    const rpcLines = () => t.logs.filter((l) => l.msg === "rpc" && l.code === "unauthenticated").length;
    const linesBefore = rpcLines();
    const session = connect();
    const base = { ":method": "POST", ":path": LIST_SESSIONS };
    const keys = [undefined, "wrong-key-0123456789abcdef"];
    for (const key of keys) {
      const auth = key === undefined ? {} : { authorization: `Bearer ${key}` };

      const grpc = openStream(session, { ...base, ...auth, "content-type": "application/grpc", te: "trailers" });
      grpc.req.write(partialEnvelope(1_000, 10));
      const grpcOut = await grpc.outcome;
      expect(grpcStatusOf(grpcOut.trailers)).toMatchObject({ code: 16, reason: "INVALID_API_KEY" });
      // Then RST_STREAM(NO_ERROR): stop sending, nothing went wrong.
      await vi.waitFor(() => expect(grpc.req.closed).toBe(true), { timeout: WAIT_MS, interval: 10 });
      expect(grpc.req.rstCode).toBe(NGHTTP2_NO_ERROR);

      const web = openStream(session, { ...base, ...auth, "content-type": "application/grpc-web+proto" });
      web.req.write(partialEnvelope(1_000, 10));
      const webOut = await web.outcome;
      expect(webOut.body[0]).toBe(trailerFlag);
      const webTrailers = Object.fromEntries(trailerParse(webOut.body.subarray(5)).entries());
      expect(grpcStatusOf(webTrailers)).toMatchObject({ code: 16, reason: "INVALID_API_KEY" });

      const connect2 = openStream(session, {
        ...base,
        ...auth,
        "content-type": "application/json",
        "content-length": "1000",
      });
      connect2.req.write('{"userId":');
      const connectOut = await connect2.outcome;
      expect(connectOut.headers[":status"]).toBe(401);
      expect(connectErrorOf(connectOut.body)).toMatchObject({ code: 16, reason: "INVALID_API_KEY" });

      // Connect over HTTP/1.1: the answer, then the connection closes (HTTP/1.1 cannot stop a body otherwise).
      const socket = await rawConnect(t.server.port);
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.write(
        `POST ${LIST_SESSIONS} HTTP/1.1\r\nhost: tessera\r\n${key === undefined ? "" : `authorization: Bearer ${key}\r\n`}` +
          'content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"userId":',
      );
      expect(await within(closedBy(socket), WAIT_MS)).toBe(true);
      expect(text).toMatch(/^HTTP\/1\.1 401 /);
      expect(text.toLowerCase()).toContain("connection: close");
      expect(connectErrorOf(Buffer.from(text.slice(text.indexOf("\r\n\r\n") + 4)))).toMatchObject({
        code: 16,
        reason: "INVALID_API_KEY",
      });
    }
    // The interceptors still ran: one log line (and metric) per refused call.
    expect(rpcLines() - linesBefore).toBe(keys.length * 4);
  });

  it("keeps an HTTP/1.1 connection when a refused call's small body follows its headers, and serves the next request on it", async () => {
    const socket = await rawConnect(t.server.port);
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    const body = '{"userId":"u"}';
    socket.write(
      `POST ${LIST_SESSIONS} HTTP/1.1\r\nhost: tessera\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    // The body follows in a segment of its own, as clients often send it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(body);
    await vi.waitFor(() => expect(text).toContain("INVALID_API_KEY"), { timeout: WAIT_MS, interval: 10 });
    expect(text).toMatch(/^HTTP\/1\.1 401 /);
    expect(text.toLowerCase()).not.toContain("connection: close");
    socket.write("GET /metrics HTTP/1.1\r\nhost: tessera\r\n\r\n");
    await vi.waitFor(() => expect(text.match(/HTTP\/1\.1 200 /g)).toHaveLength(1), { timeout: WAIT_MS, interval: 10 });
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it("resets a stream whose body never finishes even with a valid key, then closes the idle session", async () => {
    const bodyBefore = await metric(t, "tessera_connection_timeouts_total", { kind: "body" });
    const idleBefore = await metric(t, "tessera_connection_timeouts_total", { kind: "idle" });
    const session = connect();
    const sessionClosed = new Promise((resolve) => session.once("close", resolve));
    const goaway = new Promise((resolve) => session.once("goaway", resolve));
    const call = openStream(session, {
      ":method": "POST",
      ":path": LIST_SESSIONS,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${TEST_API_KEY}`,
    });
    call.req.write(partialEnvelope(1_000, 10));
    await call.outcome;
    await vi.waitFor(() => expect(call.req.closed).toBe(true), { timeout: WAIT_MS, interval: 10 });
    expect(call.req.rstCode).toBe(NGHTTP2_CANCEL);
    expect(await within(goaway, WAIT_MS)).toBe(true);
    expect(await within(sessionClosed, WAIT_MS)).toBe(true);
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "body" })).toBe(bodyBefore + 1);
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "idle" })).toBe(idleBefore + 1);
  });

  it.each([
    ["gRPC", "application/grpc", (n: number) => partialEnvelope(n, 0)],
    ["Connect", "application/proto", () => Buffer.alloc(0)],
  ] as const)("answers a %s body over MAX_REQUEST_BYTES, then resets the stream so the client stops sending", async (_name, contentType, head) => {
    const session = connect();
    const intended = 20 * 1024 * 1024;
    const call = openStream(session, {
      ":method": "POST",
      ":path": "/tessera.sessions.v1.SessionService/CreateSession",
      "content-type": contentType,
      te: "trailers",
      authorization: `Bearer ${TEST_API_KEY}`,
    });
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x0a);
    const pump = () => {
      while (!call.req.closed && !call.req.destroyed && sent < intended) {
        sent += chunk.length;
        if (!call.req.write(chunk)) {
          call.req.once("drain", pump);
          return;
        }
      }
    };
    call.req.write(head(intended));
    pump();
    const out = await call.outcome;
    if (contentType === "application/grpc") {
      expect(grpcStatusOf(out.trailers)).toMatchObject({ code: 8, reason: "RPC_RESOURCE_EXHAUSTED" });
    } else {
      expect(connectErrorOf(out.body)).toMatchObject({ code: 8, reason: "RPC_RESOURCE_EXHAUSTED" });
    }
    await vi.waitFor(() => expect(call.req.closed).toBe(true), { timeout: WAIT_MS, interval: 10 });
    expect(call.req.rstCode).toBe(NGHTTP2_NO_ERROR);
    // The client stopped far short of the 20 MiB it meant to send.
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it("closes the TCP connection after a rapid-reset GOAWAY, though the client ignores the GOAWAY", async () => {
    const pingBefore = await metric(t, "tessera_connection_timeouts_total", { kind: "ping" });
    const raw = await rawH2(t.server.port);
    const get = headerBlock({ ":method": "GET", ":scheme": "http", ":path": "/healthz", ":authority": "tessera" });
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(NGHTTP2_CANCEL);
    for (let i = 0; i < 3_000 && !raw.socket.destroyed; i++) {
      const id = 1 + 2 * i;
      raw.socket.write(Buffer.concat([h2Frame(FRAME.HEADERS, 0x5, id, get), h2Frame(FRAME.RST_STREAM, 0, id, cancel)]));
    }
    // The client never closes: the server must.
    expect(await within(raw.closed, WAIT_MS)).toBe(true);
    expect(raw.frames.some((f) => f.type === FRAME.GOAWAY)).toBe(true);
    // Closed because the unanswered PING after the resets timed out (nghttp2's GOAWAY tells Node nothing).
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "ping" })).toBe(pingBefore + 1);
  });
});
