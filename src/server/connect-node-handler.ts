import type http from "node:http";
import type http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
  createContextValues,
} from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { HttpRequest, HttpResponse } from "../http/http-route.js";
import { startCallObservation } from "../rpc/logging.js";
import type { RequestObserver } from "../rpc/request-observer.js";
import { kConnection, kHeadersAccepted } from "./call-context.js";
import { withEmptyMessage } from "./empty-request.js";
import { withErrorDetail } from "./error-details.js";
import type { Http2StreamHandler } from "./http2-stream-dispatch.js";
import { type LeanRoute, serveLeanStream } from "./lean-grpc-stream.js";
import { isLeanGrpcRequest, type LeanGrpcProcedure, leanGrpcProcedure } from "./lean-grpc-unary.js";
import { NodeRequestHeaders } from "./node-headers.js";
import { recordingRouter } from "./recording-router.js";

/** Options of createConnectNodeHandler. */
export interface ConnectNodeHandlerOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  /** Called with a handler failure that could not reach the client (e.g. the client went away). */
  readonly onError: (procedure: string, err: unknown) => void;
  /**
   * True when the headers alone show that the interceptors will refuse the
   * call (no valid API key). Its body is then never read: the interceptors
   * get one empty message instead and refuse it as usual.
   */
  readonly refusedByHeaders?: (procedure: string, header: Headers) => boolean;
  /**
   * How long a refused HTTP/1.1 call waits for a small body (at most REFUSED_BODY_DRAIN_MAX_BYTES declared)
   * to arrive and be discarded, so its answer can keep the connection (default 0: it closes at once).
   */
  readonly refusedBodyGraceMs?: number;
  /**
   * Observes each call from its arrival, so a call the Connect runtime refuses
   * before any interceptor runs is logged and counted like any other.
   */
  readonly observer?: RequestObserver;
  /** Called for each call the lean gRPC path serves (a metric). */
  readonly onLeanCall?: () => void;
}

export { kConnection, kHeadersAccepted };

/**
 * Serves Connect, gRPC and gRPC-Web: `request` takes requests from node's
 * compatibility layer (returning false when no procedure matches the path),
 * `stream` takes plain gRPC unary calls on their HTTP/2 stream (see Http2StreamHandler).
 */
export interface ConnectNodeHandler {
  readonly request: (req: HttpRequest, res: HttpResponse) => boolean;
  readonly stream: Http2StreamHandler;
}

/**
 * Serves the router's procedures like connect-node's `connectNodeAdapter`,
 * except that a request body a handler stops reading (a request over
 * `readMaxBytes`) is left alone rather than destroyed: the server then ends
 * it cleanly (see http1-connections.ts and http2-sessions.ts), where
 * connect-node would break the keep-alive connection or leave a half-open stream.
 */
export function createConnectNodeHandler(options: ConnectNodeHandlerOptions): ConnectNodeHandler {
  const routerOptions = { acceptCompression: [compressionGzip, compressionBrotli], ...options };
  const recorded = recordingRouter(createConnectRouter(routerOptions), routerOptions);
  options.routes(recorded.router);
  const routes = new Map(
    recorded.router.handlers.map((handler) => {
      const unary = recorded.unary.get(handler.requestPath);
      const route: Route = {
        handler,
        procedure: `${handler.service.typeName}/${handler.method.name}`,
        lean: unary === undefined ? undefined : leanGrpcProcedure(unary),
      };
      return [handler.requestPath, route];
    }),
  );
  // Streams `stream` declined because the API key rule refused their headers: not checked a second time.
  const refusedStreams = new WeakSet<http2.ServerHttp2Stream>();
  const leanOptions = { ...options, headersChecked: options.refusedByHeaders !== undefined };
  const stream: Http2StreamHandler = (stream, headers) => {
    const route = routes.get(pathOf(headers[":path"]));
    if (route === undefined || !isLeanRoute(route) || !isLeanGrpcRequest(headers)) return false;
    const header = new NodeRequestHeaders(headers);
    if (options.refusedByHeaders?.(route.procedure, header)) {
      refusedStreams.add(stream);
      return false;
    }
    serveLeanStream(leanOptions, route, stream, headers, header);
    return true;
  };
  const request = (req: HttpRequest, res: HttpResponse): boolean => {
    const route = routes.get(pathOf(req.url));
    if (route === undefined) return false;
    const connection = "stream" in req ? req.stream.session : req.socket;
    const requestId = req.headers["x-request-id"];
    const call =
      options.observer &&
      startCallObservation(options.observer, route.procedure, typeof requestId === "string" ? requestId : undefined);
    const exchange: Exchange = {
      route,
      req,
      res,
      values: (call?.values ?? createContextValues()).set(kConnection, connection),
      status: 0,
      carried: undefined,
      // A call that reached the interceptors is already finished; this records one the runtime refused.
      finish: () => call?.finish({ status: exchange.status, error: exchange.carried, contentType: contentTypeOf(req) }),
    };
    // Registered at once, so that a call whose client goes away at any point is still recorded.
    res.once("close", exchange.finish);
    if (call !== undefined) res.setHeader("x-request-id", call.requestId);
    const refused = "stream" in req && refusedStreams.has(req.stream) ? true : undefined;
    serve(options, exchange, bodyOf(req), refused);
    return true;
  };
  return { request, stream };
}

/** A Connect procedure: its universal handler and, for a unary one, its lean gRPC path. */
interface Route {
  readonly handler: UniversalHandler;
  readonly procedure: string;
  readonly lean: LeanGrpcProcedure | undefined;
}

/** One call being served, and how its response ended so far (for the observation the runtime may have to finish). */
interface Exchange {
  readonly route: Route;
  readonly req: HttpRequest;
  readonly res: HttpResponse;
  readonly values: ContextValues;
  status: number;
  carried: ConnectError | undefined;
  readonly finish: () => void;
}

function isLeanRoute(route: Route): route is LeanRoute {
  return route.lean !== undefined;
}

/** A request target without its query. */
function pathOf(url: string | undefined = ""): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

function contentTypeOf(req: HttpRequest): string {
  return req.headers["content-type"] ?? "";
}

/** Serves a call through Connect's handler for its protocol, the request body being `body`. */
function serve(
  options: ConnectNodeHandlerOptions,
  exchange: Exchange,
  body: AsyncIterable<Uint8Array>,
  /** Whether the API key rule already refused the headers (undefined: not asked yet). */
  refusedEarlier: boolean | undefined,
): void {
  const { route, req, res } = exchange;
  let universal: UniversalServerRequest;
  try {
    universal = universalRequestFromNodeRequest(
      req as http.IncomingMessage & http2.Http2ServerRequest,
      res as http.ServerResponse & http2.Http2ServerResponse,
      undefined,
      exchange.values,
    );
  } catch {
    // No authority (an HTTP/1.0 request without Host, an HTTP/2 one without :authority).
    exchange.status = 400;
    res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("bad request");
    exchange.finish();
    return;
  }
  universal = { ...universal, body };
  if (refusedEarlier ?? options.refusedByHeaders?.(route.procedure, universal.header)) {
    const refused = withEmptyMessage(universal);
    if ("stream" in req || req.complete) {
      respond(options, exchange, refused);
      return;
    }
    // HTTP/1.1 cannot tell the client to stop sending. A small body right behind the headers is discarded
    // (closing with it unread would reset the connection, and the client could lose the answer); any other
    // body not all here yet ends the connection.
    void discardSmallBody(req, options.refusedBodyGraceMs ?? 0).then(() => {
      if (!req.complete) res.setHeader("connection", "close");
      respond(options, exchange, refused);
    });
    return;
  }
  if (options.refusedByHeaders !== undefined) exchange.values.set(kHeadersAccepted, true);
  respond(options, exchange, universal);
}

/** The most a refused HTTP/1.1 call may declare and still have its body discarded rather than its connection closed. */
export const REFUSED_BODY_DRAIN_MAX_BYTES = 64 * 1024;

/** Reads and drops a body of at most REFUSED_BODY_DRAIN_MAX_BYTES declared, for up to `graceMs`; resolves either way. */
function discardSmallBody(req: http.IncomingMessage, graceMs: number): Promise<void> {
  const declared = Number(req.headers["content-length"]);
  if (graceMs <= 0 || !(declared <= REFUSED_BODY_DRAIN_MAX_BYTES)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.off("end", done);
      req.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, graceMs);
    req.once("end", done);
    req.once("close", done);
    req.resume();
  });
}

/** Runs the route's handler on `universal` and writes its answer. */
function respond(options: ConnectNodeHandlerOptions, exchange: Exchange, universal: UniversalServerRequest): void {
  const { route, req, res } = exchange;
  route
    .handler(universal)
    .then((uRes) => {
      exchange.status = uRes.status;
      // An error without a body (such as 415 for an unknown content type) is known now.
      if (uRes.body === undefined && uRes.status !== 200) exchange.finish();
      return universalResponseToNodeResponse(
        withErrorDetail(uRes, contentTypeOf(req), (err) => {
          exchange.carried = err;
          exchange.finish();
        }),
        res as http.ServerResponse & http2.Http2ServerResponse,
      );
    })
    .catch((err: unknown) => failed(options, exchange, err));
}

/** A response that could not be written (or a handler failure past the runtime): reported unless the client went away. */
function failed(options: ConnectNodeHandlerOptions, exchange: Exchange, err: unknown): void {
  const connectErr = ConnectError.from(err);
  exchange.carried ??= connectErr;
  if (connectErr.code !== Code.Aborted) options.onError(exchange.route.procedure, err);
}

/** The request body as chunks. Stopping early leaves the request alone (connect-node would destroy it). */
async function* bodyOf(req: HttpRequest): AsyncGenerator<Uint8Array> {
  for await (const chunk of req.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
}
