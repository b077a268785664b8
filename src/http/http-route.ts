import type http from "node:http";
import type http2 from "node:http2";

/** An incoming request on either HTTP version. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response on either HTTP version. */
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * The request target a route sees: the path exactly as sent (percent-encoding
 * kept, no dot segment resolved) and the decoded query. A WHATWG `URL` would
 * resolve `/v1/%2e%2e/metrics` to `/metrics`; routes must match what was sent.
 */
export interface RequestTarget {
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
}

/**
 * A plain HTTP endpoint served next to Connect on the same port (JWKS,
 * health, metrics, the Stytch-compatible REST surface). Connect procedures
 * are matched first by exact path; a request for no procedure is offered to
 * each route in turn, and `handle` returns false when it is not for it (the
 * last resort is a JSON 404, or a 400 for an ambiguous path).
 */
export interface HttpRoute {
  handle(req: HttpRequest, res: HttpResponse, target: RequestTarget): boolean | Promise<boolean>;
}

/**
 * Splits a raw request target into its path and query without normalising
 * anything. The absolute form (`http://host/path`, RFC 9112 3.2.2) is reduced
 * to its path; anything else not starting with `/` (such as `*`) is undefined.
 */
export function parseRequestTarget(raw: string): RequestTarget | undefined {
  let target = raw;
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  if (absolute !== null) target = `/${target.slice(absolute[0].length).replace(/^\//, "")}`;
  if (!target.startsWith("/")) return undefined;
  const query = target.indexOf("?");
  return query < 0
    ? { pathname: target, searchParams: new URLSearchParams() }
    : { pathname: target.slice(0, query), searchParams: new URLSearchParams(target.slice(query + 1)) };
}

/**
 * Whether a raw path could mean another path to a proxy or to a URL parser: a
 * dot segment (`.` or `..`, also percent-encoded, in any case) or a backslash
 * (which WHATWG URLs read as a slash). An encoded slash is no separator here:
 * routes match the raw path and only decode a parameter once matched (the
 * Stytch SDK sends `/v1/users/team%2Fa` for the user id `team/a`).
 */
export function isAmbiguousPath(path: string): boolean {
  if (path.includes("\\")) return true;
  return path.split("/").some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
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
