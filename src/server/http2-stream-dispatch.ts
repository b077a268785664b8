import type http2 from "node:http2";

/**
 * Serves an HTTP/2 stream on the stream itself (node's `Http2Stream`, without
 * the compatibility layer's request and response objects) and returns true,
 * or returns false, at once and having touched nothing, to leave it to the request handler.
 */
export type Http2StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/**
 * Offers each new stream of `server` to `first`; a stream it declines goes
 * to the listeners already there (the compatibility layer node installs for
 * the server's request handler) exactly as before.
 */
export function serveStreamsFirst(server: http2.Http2Server, first: Http2StreamHandler): void {
  const compat = server.listeners("stream") as StreamListener[];
  server.removeAllListeners("stream");
  const dispatch: StreamListener = (stream, headers, flags, rawHeaders) => {
    if (first(stream, headers)) return;
    for (const listener of compat) listener.call(server, stream, headers, flags, rawHeaders);
  };
  server.on("stream", dispatch);
}
