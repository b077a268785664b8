import type net from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { openFileLimit } from "../../src/server/file-limit.js";
import { serverOptions } from "../../src/server/server-options.js";
import { backends } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";
import { closedBy, FRAME, metric, rawConnect, rawH2, within } from "./abuse-support.js";

/** Everything the server tracks, when nobody is connected. */
const NOTHING_HELD = {
  connections: 0,
  refusing: 0,
  http1Sockets: 0,
  http1InFlight: 0,
  http1BodyDeadlines: 0,
  http2Sessions: 0,
  http2Streams: 0,
};

/** Generous bound on waiting for the server to act on a deadline of a few hundred milliseconds. */
const WAIT_MS = 5_000;

/** A Connect-streaming health Watch over HTTP/1.1: it never ends, so its connection stays busy. */
const WATCH_ENVELOPE = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from("{}")]);
const WATCH_REQUEST = Buffer.concat([
  Buffer.from(
    "POST /grpc.health.v1.Health/Watch HTTP/1.1\r\nhost: tessera\r\n" +
      `content-type: application/connect+json\r\ncontent-length: ${WATCH_ENVELOPE.length}\r\n\r\n`,
  ),
  WATCH_ENVELOPE,
]);

/** Reads a raw socket until the server closes it; returns all it sent. */
async function readAll(socket: net.Socket): Promise<string> {
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  await closedBy(socket);
  return text;
}

describe.each(backends())("connection limits on %s", (backend) => {
  const LIMIT = 25;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, {
      // Short, yet with room for the event loop of a busy machine.
      HEADERS_TIMEOUT_MS: "1000",
      REQUEST_BODY_TIMEOUT_MS: "500",
      IDLE_TIMEOUT_MS: "1000",
      MAX_CONNECTIONS: String(LIMIT),
    });
  });
  afterAll(() => t?.close());

  it("forgets connections that close with pipelined requests in flight: nothing stays tracked or held", async () => {
    const metrics = Buffer.from("GET /metrics HTTP/1.1\r\nhost: tessera\r\n\r\n".repeat(49));
    for (let round = 0; round < 3; round++) {
      // A health Watch first holds the connection, so the 49 pipelined GET /metrics behind it stay in flight.
      const held = await Promise.all(Array.from({ length: 20 }, () => rawConnect(t.server.port)));
      for (const socket of held) socket.write(Buffer.concat([WATCH_REQUEST, metrics]));
      await vi.waitFor(() => expect(t.server.stats().http1InFlight).toBe(20 * 50), { timeout: WAIT_MS, interval: 10 });
      for (const socket of held) socket.destroy();
      // As the attack ran: 50 GET /metrics, and gone as the first answer comes back.
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const socket = await rawConnect(t.server.port);
          socket.write(Buffer.concat([metrics, Buffer.from("GET /metrics HTTP/1.1\r\nhost: tessera\r\n\r\n")]));
          await new Promise<void>((resolve) => {
            socket.once("data", () => resolve());
            socket.once("close", () => resolve());
          });
          socket.destroy();
        }),
      );
      // The moment the connections are gone, nothing of theirs is left, not even a pending deadline holding a request.
      await vi.waitFor(() => expect(t.server.stats().http1Sockets).toBe(0), { timeout: WAIT_MS, interval: 1 });
      expect(t.server.stats().http1BodyDeadlines).toBe(0);
      await vi.waitFor(() => expect(t.server.stats()).toEqual(NOTHING_HELD), { timeout: WAIT_MS, interval: 10 });
    }
  });

  it("closes a connection that sends nothing, part of the HTTP/2 preface, an HTTP/2 session without a stream, or part of its HTTP/1.1 headers", async () => {
    const before = await metric(t, "tessera_connection_timeouts_total", { kind: "headers" });
    const silent = await rawConnect(t.server.port);
    const partialPreface = await rawConnect(t.server.port);
    partialPreface.write("PRI * HTTP/2.0\r\n");
    const noStream = (await rawH2(t.server.port)).socket;
    const partialHeaders = await rawConnect(t.server.port);
    partialHeaders.write(`POST /tessera.sessions.v1.SessionService/ListSessions HTTP/1.1\r\nhost: tessera\r\n`);
    for (const socket of [silent, partialPreface, noStream, partialHeaders]) {
      expect(await within(closedBy(socket), WAIT_MS)).toBe(true);
    }
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "headers" })).toBe(before + 4);
  });

  it("closes an HTTP/1.1 request whose body never finishes, even with a valid API key", async () => {
    const before = await metric(t, "tessera_connection_timeouts_total", { kind: "body" });
    const socket = await rawConnect(t.server.port);
    socket.write(
      "POST /tessera.sessions.v1.SessionService/ListSessions HTTP/1.1\r\nhost: tessera\r\n" +
        `authorization: Bearer ${TEST_API_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"userId":`,
    );
    expect(await within(closedBy(socket), WAIT_MS)).toBe(true);
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "body" })).toBe(before + 1);
  });

  it("closes an idle keep-alive connection, but not one that keeps sending requests", async () => {
    const before = await metric(t, "tessera_connection_timeouts_total", { kind: "idle" });
    const socket = await rawConnect(t.server.port);
    let answered = 0;
    socket.on("data", (chunk: Buffer) => {
      answered += chunk.toString("latin1").split("HTTP/1.1 200").length - 1;
    });
    // Eight requests 200 ms apart: 1.6 s in all, past the 1 s idle deadline, each well inside it.
    for (let i = 0; i < 8; i++) {
      socket.write("GET /healthz HTTP/1.1\r\nhost: tessera\r\n\r\n");
      await vi.waitFor(() => expect(answered).toBe(i + 1), { timeout: WAIT_MS, interval: 10 });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(socket.destroyed).toBe(false);
    expect(await within(closedBy(socket), WAIT_MS)).toBe(true);
    expect(await metric(t, "tessera_connection_timeouts_total", { kind: "idle" })).toBeGreaterThan(before);
  });

  it("answers an HTTP/1.0 request without Host with 400 and keeps serving", async () => {
    const socket = await rawConnect(t.server.port);
    socket.write(
      "POST /tessera.sessions.v1.SessionService/GetJwks HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    );
    expect(await readAll(socket)).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });

  it("refuses connections past MAX_CONNECTIONS in their own protocol, counts and logs them, and serves again below it", async () => {
    await vi.waitFor(() => expect(t.server.stats()).toEqual(NOTHING_HELD), { timeout: WAIT_MS, interval: 10 });
    // Held busy, so no deadline closes them: each runs a health Watch.
    const held = await Promise.all(Array.from({ length: LIMIT }, () => rawConnect(t.server.port)));
    for (const socket of held) socket.write(WATCH_REQUEST);
    await vi.waitFor(() => expect(t.server.stats().http1InFlight).toBe(LIMIT), { timeout: WAIT_MS, interval: 10 });

    const http1 = await rawConnect(t.server.port);
    http1.write("GET /healthz HTTP/1.1\r\nhost: tessera\r\n\r\n");
    const answer = await readAll(http1);
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain("connection: close");

    const http2 = await rawH2(t.server.port);
    expect(await within(http2.closed, WAIT_MS)).toBe(true);
    const goaway = http2.frames.find((frame) => frame.type === FRAME.GOAWAY);
    expect(goaway?.payload.readUInt32BE(4)).toBe(0x0b); // ENHANCE_YOUR_CALM

    // A burst far past the limit: every one is refused or closed, none is served, the count never passes the limit.
    const burst = await Promise.all(Array.from({ length: 50 }, () => rawConnect(t.server.port)));
    for (const socket of burst) socket.write("GET /healthz HTTP/1.1\r\nhost: tessera\r\n\r\n");
    const answers = await Promise.all(burst.map(readAll));
    for (const text of answers) expect(text).not.toContain("200 OK");
    expect(t.server.stats().connections).toBe(LIMIT);

    expect(await metric(t, "tessera_connections_refused_total", { reason: "limit" })).toBe(52);
    // Rate-limited: one warning for the whole burst.
    expect(t.logs.filter((line) => line.msg === "connections refused" && line.reason === "limit")).toHaveLength(1);

    for (const socket of held) socket.destroy();
    await vi.waitFor(() => expect(t.server.stats()).toEqual(NOTHING_HELD), { timeout: WAIT_MS, interval: 10 });
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe("MAX_CONNECTIONS and the open file limit", () => {
  it("warns at startup when MAX_CONNECTIONS would run into the process's file limit first", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const metrics = createMetrics(() => ({ total: 0, idle: 0, waiting: 0 }));
    const warned = (maxConnections: string) => {
      lines.length = 0;
      serverOptions(parseConfig({ MAX_CONNECTIONS: maxConnections }), metrics, createLogger("warn", sink));
      return lines.some((line) => line.includes("open file limit"));
    };
    const limit = openFileLimit();
    expect(warned("1000000")).toBe(limit !== undefined && limit < 1_000_256);
    expect(warned("10")).toBe(limit !== undefined && limit < 266);
  });
});
