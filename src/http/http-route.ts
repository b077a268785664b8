import type http from "node:http";
import type http2 from "node:http2";

/** An incoming request on either HTTP version. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response on either HTTP version. */
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * A plain HTTP endpoint served next to Connect on the same port (JWKS,
 * health, metrics, the Stytch-compatible REST surface). Connect procedures
 * are matched first by exact path; a request for no procedure is offered to
 * each route in turn, and `handle` returns false when it is not for it (the
 * last resort is a JSON 404).
 */
export interface HttpRoute {
  handle(req: HttpRequest, res: HttpResponse, url: URL): boolean | Promise<boolean>;
}

/** Writes a JSON response. */
export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}
