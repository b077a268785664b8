import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** A request handler that serves both HTTP/1.1 and HTTP/2 requests. */
export type UniversalHandler = (
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
export async function listenSniffing(handler: UniversalHandler, port: number, host: string): Promise<SniffingServer> {
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createServer({}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
  });

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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      h1.closeIdleConnections();
      for (const session of h2Sessions) session.close();
      // HTTP/1.1 keep-alive sockets that become idle close as their requests end.
      h1.on("request", (_req, res) => res.setHeader("connection", "close"));
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, deadlineMs);
      const idle = setInterval(() => h1.closeIdleConnections(), 50);
      try {
        await closed;
      } finally {
        clearTimeout(timer);
        clearInterval(idle);
      }
    },
  };
}
