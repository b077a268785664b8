import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { parseMetrics, sampleValue } from "../ops/metrics-text.js";
import type { TestApp } from "../support/test-app.js";

/** The HTTP/2 client connection preface. */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** HTTP/2 frame types used here. */
export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7 } as const;

/** One HTTP/2 frame. */
export function h2Frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK header block of literal fields, never indexed or Huffman-coded (names and values under 127 bytes). */
export function headerBlock(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** A parsed frame the server sent. */
export interface ReceivedFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** A raw TCP connection that speaks HTTP/2 by hand and never answers anything (no SETTINGS ACK, no PING ACK). */
export interface RawH2 {
  readonly socket: net.Socket;
  /** Frames received so far. */
  readonly frames: ReceivedFrame[];
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
}

/** Opens a raw connection, sends the preface and an empty SETTINGS. */
export async function rawH2(port: number): Promise<RawH2> {
  const socket = await rawConnect(port);
  const frames: ReceivedFrame[] = [];
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      frames.push({
        type: buffered[3] ?? 0,
        flags: buffered[4] ?? 0,
        streamId: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: buffered.subarray(9, 9 + length),
      });
      buffered = buffered.subarray(9 + length);
    }
  });
  socket.write(Buffer.concat([PREFACE, h2Frame(FRAME.SETTINGS, 0, 0)]));
  return { socket, frames, closed: closedBy(socket) };
}

/** A TCP connection to the app on loopback, errors swallowed (the server may reset it). */
export async function rawConnect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

/** Resolves once the socket is closed (by either side). */
export function closedBy(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** Whether `promise` settles within `ms` (a bound on the wait, not a speed assertion). */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The value of one sample of the app's /metrics. */
export async function metric(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue(parseMetrics(await t.app.metrics.registry.metrics()), name, labels);
}

/** Code and ErrorDetail reason (and metadata) of a gRPC status carried in trailers. */
export function grpcStatusOf(trailers: Record<string, string | string[] | undefined>): {
  code: number;
  reason: string | undefined;
  metadata: Record<string, string>;
} {
  const headers = new Headers();
  for (const [name, value] of Object.entries(trailers)) {
    if (!name.startsWith(":") && value !== undefined) headers.set(name, String(value));
  }
  const err = findTrailerError(headers);
  return err === undefined ? { code: 0, reason: undefined, metadata: {} } : describeError(err);
}

/** Code and ErrorDetail reason of a Connect unary error body. */
export function connectErrorOf(body: Buffer): { code: number; reason: string | undefined } {
  return describeError(errorFromJsonBytes(body, undefined, new ConnectError("unparsable", Code.Unknown)));
}

function describeError(err: ConnectError): {
  code: number;
  reason: string | undefined;
  metadata: Record<string, string>;
} {
  const detail = err.findDetails(ErrorDetailSchema)[0];
  return { code: err.code, reason: detail?.reason, metadata: { ...detail?.metadata } };
}
