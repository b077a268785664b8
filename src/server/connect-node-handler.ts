import type http from "node:http";
import type http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { HttpRequest, HttpResponse } from "../http/http-route.js";
import { startCallObservation } from "../rpc/logging.js";
import type { RequestObserver } from "../rpc/request-observer.js";
import { withEmptyMessage } from "./empty-request.js";
import { withErrorDetail } from "./error-details.js";

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
   * Observes each call from its arrival, so a call the Connect runtime refuses
   * before any interceptor runs is logged and counted like any other.
   */
  readonly observer?: RequestObserver;
}

/**
 * The connection a call arrived on (the HTTP/1.1 socket or the HTTP/2
 * session), in each handler's context values: an identity to count per-connection things by.
 */
export const kConnection = createContextKey<object | undefined>(undefined, { description: "connection" });

/** A request handler for Connect, gRPC and gRPC-Web; returns false when no procedure matches the path. */
export type ConnectNodeHandler = (req: HttpRequest, res: HttpResponse) => boolean;

/**
 * Serves the router's procedures like connect-node's `connectNodeAdapter`,
 * except that a request body a handler stops reading (a request over
 * `readMaxBytes`) is left alone rather than destroyed: the server then ends
 * it cleanly (see http1-connections.ts and http2-sessions.ts), where
 * connect-node would break the keep-alive connection or leave a half-open stream.
 */
export function createConnectNodeHandler(options: ConnectNodeHandlerOptions): ConnectNodeHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    ...options,
  });
  options.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0] ?? "");
    if (handler === undefined) return false;
    const procedure = `${handler.service.typeName}/${handler.method.name}`;
    const connection = "stream" in req ? req.stream.session : req.socket;
    const contentType = req.headers["content-type"] ?? "";
    const requestId = req.headers["x-request-id"];
    const call =
      options.observer &&
      startCallObservation(options.observer, procedure, typeof requestId === "string" ? requestId : undefined);
    let universal: UniversalServerRequest;
    try {
      universal = universalRequestFromNodeRequest(
        req as http.IncomingMessage & http2.Http2ServerRequest,
        res as http.ServerResponse & http2.Http2ServerResponse,
        undefined,
        (call?.values ?? createContextValues()).set(kConnection, connection),
      );
    } catch {
      // No authority (an HTTP/1.0 request without Host, an HTTP/2 one without :authority).
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("bad request");
      call?.finish({ status: 400, error: undefined, contentType });
      return true;
    }
    if (call !== undefined) res.setHeader("x-request-id", call.requestId);
    universal = { ...universal, body: bodyOf(req) };
    if (options.refusedByHeaders?.(procedure, universal.header)) {
      // HTTP/1.1 cannot tell the client to stop sending: a body not all here yet ends the connection.
      if (!("stream" in req) && !req.complete) res.setHeader("connection", "close");
      universal = withEmptyMessage(universal);
    }
    // A call that reached the interceptors is already finished; these record one the runtime refused.
    let status = 0;
    let carried: ConnectError | undefined;
    const finish = () => call?.finish({ status, error: carried, contentType });
    res.once("close", finish);
    handler(universal)
      .then((uRes) => {
        status = uRes.status;
        // An error without a body (such as 415 for an unknown content type) is known now.
        if (uRes.body === undefined && status !== 200) finish();
        return universalResponseToNodeResponse(
          withErrorDetail(uRes, contentType, (err) => {
            carried = err;
            finish();
          }),
          res as http.ServerResponse & http2.Http2ServerResponse,
        );
      })
      .catch((err: unknown) => {
        const connectErr = ConnectError.from(err);
        carried ??= connectErr;
        if (connectErr.code !== Code.Aborted) options.onError(procedure, err);
      });
    return true;
  };
}

/** The request body as chunks. Stopping early leaves the request alone (connect-node would destroy it). */
async function* bodyOf(req: HttpRequest): AsyncGenerator<Uint8Array> {
  for await (const chunk of req.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
}
