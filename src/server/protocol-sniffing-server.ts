import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { refuseConnection } from "./connection-refusal.js";
import { trackHttp1 } from "./http1-connections.js";
import { HTTP2_PREFACE, startsLikeHttp2 } from "./http2-preface.js";
import { trackHttp2 } from "./http2-sessions.js";
import { type Http2StreamHandler, serveStreamsFirst } from "./http2-stream-dispatch.js";
import { deadline, NO_SERVER_EVENTS, type ServerEvents, type ServerLimits } from "./server-limits.js";

/** A request handler that serves both HTTP/1.1 and HTTP/2 requests. */
export type NodeRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Where to listen and what to allow; see ServerLimits. */
export interface SniffingServerOptions extends ServerLimits {
  readonly port: number;
  readonly host: string;
  readonly events?: ServerEvents;
}

/** What the server holds right now; every count drops to 0 once the clients are gone. */
export interface SniffingServerStats {
  /** Open connections being served (any protocol, or not yet known). */
  readonly connections: number;
  /** Connections over the limit, being told so before they close. */
  readonly refusing: number;
  readonly http1Sockets: number;
  readonly http1InFlight: number;
  /** Pending HTTP/1.1 body deadlines; each keeps its request (and socket) in memory until it is cleared. */
  readonly http1BodyDeadlines: number;
  readonly http2Sessions: number;
  readonly http2Streams: number;
}

/** A listening server that speaks HTTP/1.1 and cleartext HTTP/2 on one port. */
export interface SniffingServer {
  readonly port: number;
  /** Counts of what the server holds, for tests and metrics. */
  stats(): SniffingServerStats;
  /** Stops accepting, lets in-flight requests finish until `deadlineMs`, then destroys what remains. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Listens on one port for HTTP/1.1 and h2c with prior knowledge (gRPC, and
 * Connect over HTTP/2): the first bytes of each connection are compared with
 * the HTTP/2 connection preface and the socket is handed to the matching
 * server. `http2.createServer({ allowHTTP1 })` only does this over TLS.
 * `http2Stream`, when given, may serve an HTTP/2 stream itself before `handler` sees it.
 * Every connection is bounded: a count, a deadline for its first request's
 * headers, for each body, and for idling.
 */
export async function listenSniffing(
  handler: NodeRequestHandler,
  options: SniffingServerOptions,
  http2Stream?: Http2StreamHandler,
): Promise<SniffingServer> {
  const events = options.events ?? NO_SERVER_EVENTS;
  const h1 = http.createServer({ keepAliveTimeout: options.idleTimeoutMs }, handler as http.RequestListener);
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: options.http2MaxConcurrentStreams } },
    handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  // HTTP/2 streams that `http2Stream` declines reach `handler` through node's compatibility layer.
  if (http2Stream !== undefined) serveStreamsFirst(h2, http2Stream);
  const http1 = trackHttp1(h1, options, events);
  const sessions = trackHttp2(h2, options, events);
  const sockets = new Set<net.Socket>();
  // Connections whose protocol is not known yet.
  const sniffing = new Set<net.Socket>();
  const refusing = new Set<net.Socket>();
  let closing = false;

  const server = net.createServer((socket) => {
    socket.on("error", () => socket.destroy());
    if (sockets.size >= options.maxConnections) {
      events.connectionRefused("limit");
      refuseConnection(socket, refusing);
      return;
    }
    sockets.add(socket);
    sniffing.add(socket);
    events.connectionOpened();
    // Covers a silent connection, a partial preface and partial first headers alike.
    const headers = deadline(options.headersTimeoutMs, () => {
      events.timedOut("headers");
      socket.destroy();
    });
    const firstRequest = () => clearTimeout(headers);
    socket.once("close", () => {
      clearTimeout(headers);
      sockets.delete(socket);
      sniffing.delete(socket);
      events.connectionClosed();
    });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const isPrefix = startsLikeHttp2(head);
      if (isPrefix && head.length < HTTP2_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      sniffing.delete(socket);
      if (isPrefix) sessions.adopt(socket, firstRequest);
      else http1.adopt(socket, firstRequest);
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // A failed accept() (EMFILE: the process is out of file descriptors) loses that one connection, not the process.
  server.on("error", () => events.connectionRefused("accept_error"));
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    stats() {
      const h1Stats = http1.stats();
      const h2Stats = sessions.stats();
      return {
        connections: sockets.size,
        refusing: refusing.size,
        http1Sockets: h1Stats.sockets,
        http1InFlight: h1Stats.inFlight,
        http1BodyDeadlines: h1Stats.bodyDeadlines,
        http2Sessions: h2Stats.sessions,
        http2Streams: h2Stats.streams,
      };
    },
    async close(deadlineMs) {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle HTTP/1.1 keep-alive sockets close now; busy ones as their last request ends.
      http1.drain();
      sessions.drain();
      for (const socket of [...sniffing, ...refusing]) socket.destroy();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, deadlineMs);
      try {
        await closed;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
