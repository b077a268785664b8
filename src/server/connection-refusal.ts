import type net from "node:net";
import { startsLikeHttp2 } from "./http2-preface.js";
import { deadline } from "./server-limits.js";

/** Most refused connections held at once while they are told; past it, new ones are closed without a word. */
const MAX_REFUSING = 100;
/** Time a refused connection gets to read its refusal. */
const REFUSAL_LINGER_MS = 1_000;

const REFUSAL_BODY = JSON.stringify({ error: "too many connections" });
const HTTP1_REFUSAL = Buffer.from(
  "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n" +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${REFUSAL_BODY.length}\r\n\r\n${REFUSAL_BODY}`,
  "latin1",
);
/** Server preface (an empty SETTINGS) then GOAWAY(last stream 0, ENHANCE_YOUR_CALM, "too many connections"). */
const HTTP2_REFUSAL = Buffer.concat([
  frame(0x4, Buffer.alloc(0)),
  frame(0x7, Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x0b]), Buffer.from("too many connections")])),
]);

/**
 * Tells a connection over the limit so in its own protocol (HTTP/1.1 503
 * with `connection: close`, or an HTTP/2 GOAWAY) once its first bytes show
 * which, then closes it. `refusing` holds the connections being told.
 */
export function refuseConnection(socket: net.Socket, refusing: Set<net.Socket>): void {
  if (refusing.size >= MAX_REFUSING) {
    socket.destroy();
    return;
  }
  refusing.add(socket);
  const linger = deadline(REFUSAL_LINGER_MS, () => socket.destroy());
  socket.once("close", () => {
    clearTimeout(linger);
    refusing.delete(socket);
  });
  socket.once("data", (chunk: Buffer) => {
    socket.end(startsLikeHttp2(chunk) ? HTTP2_REFUSAL : HTTP1_REFUSAL);
    // Read and drop the rest, so the close is a FIN the client sees after the refusal, not a reset.
    socket.resume();
  });
}

/** An HTTP/2 frame on stream 0 with no flags. */
function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  return Buffer.concat([header, payload]);
}
