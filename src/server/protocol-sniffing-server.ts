import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** A request handler that serves both HTTP/1.1 and HTTP/2 requests. */
export type NodeRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** A listening server that speaks HTTP/1.1 and cleartext HTTP/2 on one port. */
export interface SniffingServer {
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish until `deadlineMs`, then destroys what remains. */
  close(deadlineMs: number): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Listens on one port for HTTP/1.1 and h2c with prior knowledge (gRPC, and
 * Connect over HTTP/2): the first bytes of each connection are compared with
 * the HTTP/2 connection preface and the socket is handed to the matching
 * server. `http2.createServer({ allowHTTP1 })` only does this over TLS.
 */
export async function listenSniffing(handler: NodeRequestHandler, port: number, host: string): Promise<SniffingServer> {
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createServer({}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  // In-flight requests per HTTP/2 session. A session whose requests are all
  // answered is destroyed on close: Node's graceful session.close() can wait
  // on a client that never ends a stream it was told to stop (RST NO_ERROR).
  const h2Sessions = new Map<http2.ServerHttp2Session, number>();
  // In-flight requests per HTTP/1.1 socket. http.Server tracks connections only
  // after its own listen(), so its closeIdleConnections() never sees sockets
  // handed over here and keep-alive sockets would hold close() for keepAliveTimeout.
  const h1InFlight = new Map<net.Socket, number>();
  let closing = false;
  h1.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    h1InFlight.set(socket, (h1InFlight.get(socket) ?? 0) + 1);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (h1InFlight.get(socket) ?? 1) - 1;
      h1InFlight.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  });
  h2.on("stream", (stream) => {
    const session = stream.session as http2.ServerHttp2Session | undefined;
    if (session === undefined) return;
    h2Sessions.set(session, (h2Sessions.get(session) ?? 0) + 1);
    let answered = false;
    const onAnswered = () => {
      if (answered) return;
      answered = true;
      const left = (h2Sessions.get(session) ?? 1) - 1;
      if (h2Sessions.has(session)) h2Sessions.set(session, left);
      if (closing && left === 0) destroySoon(session);
    };
    // "finish": the response is written. A stream whose request body was not
    // read to its end may never emit "close", so that cannot be what we wait for.
    stream.once("finish", onAnswered);
    stream.once("close", onAnswered);
  });
  h2.on("session", (session) => {
    h2Sessions.set(session, 0);
    session.on("close", () => h2Sessions.delete(session));
  });

  /** Lets written frames reach the socket, then ends the session. */
  const destroySoon = (session: http2.ServerHttp2Session) => {
    setTimeout(() => session.destroy(), 100).unref();
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const isPrefix = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isPrefix && head.length < PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (isPrefix) {
        // http2 reads the socket's buffered bytes when its session starts;
        // resuming the stream here would hand them to nobody.
        h2.emit("connection", socket);
      } else {
        h1InFlight.set(socket, 0);
        socket.on("close", () => h1InFlight.delete(socket));
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    async close(deadlineMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle HTTP/1.1 keep-alive sockets close now; busy ones as their last request ends.
      for (const [socket, inFlight] of h1InFlight) if (inFlight === 0) socket.destroy();
      for (const [session, inFlight] of h2Sessions) {
        session.close();
        if (inFlight === 0) destroySoon(session);
      }
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
