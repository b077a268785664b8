import type http2 from "node:http2";

/** What a client saw of one HTTP/2 stream. */
export interface StreamOutcome {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The RST_STREAM code it closed with (0: none, or not closed yet when settled on its end). */
  readonly rstCode: number;
}

/**
 * Collects what a client stream receives (response headers, body, trailers),
 * settling when the stream closes, or already when its body ends with `settleOnEnd`.
 * Stream errors are swallowed: the outcome (an RST code, missing trailers) tells.
 */
export function collectStream(stream: http2.ClientHttp2Stream, settleOnEnd = false): Promise<StreamOutcome> {
  stream.on("error", () => {});
  let headers: http2.IncomingHttpHeaders = {};
  let trailers: http2.IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  stream.on("response", (h) => {
    headers = h;
  });
  stream.on("trailers", (h) => {
    trailers = h;
  });
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    const done = () => resolve({ headers, trailers, body: Buffer.concat(chunks), rstCode: stream.rstCode ?? 0 });
    stream.once("close", done);
    if (settleOnEnd) stream.once("end", done);
  });
}
