import type http2 from "node:http2";

/**
 * Writes a whole response on an HTTP/2 stream: its headers, its body, then
 * its trailers, all submitted in one go so that node can send the frames
 * together. The headers get node's `date`, like any response node writes.
 * A stream the client has already left gets nothing.
 */
export function respondWhole(
  stream: http2.ServerHttp2Stream,
  head: http2.OutgoingHttpHeaders,
  body: Uint8Array | undefined,
  trailers: http2.OutgoingHttpHeaders | undefined,
): void {
  if (stream.destroyed || stream.closed) return;
  if (trailers === undefined) {
    stream.respond(head, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    return;
  }
  stream.respond(head, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  if (body === undefined) stream.end();
  else stream.end(body);
}

/**
 * Web Headers as node's outgoing headers, added to (and overriding) `into`'s
 * own: one value per name, as Headers joins them, except `set-cookie`.
 */
export function nodeHeaders(
  headers: Headers,
  into: http2.OutgoingHttpHeaders = Object.create(null),
): http2.OutgoingHttpHeaders {
  let cookies = false;
  headers.forEach((value, key) => {
    if (key !== "set-cookie") into[key] = value;
    else cookies = true;
  });
  if (cookies) into["set-cookie"] = headers.getSetCookie();
  return into;
}
