import type http from "node:http";
import http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { HttpRequest, HttpResponse } from "../http/http-route.js";
import { startCallObservation } from "../rpc/logging.js";
import type { RequestObserver } from "../rpc/request-observer.js";
import { withErrorDetail } from "./error-details.js";

/** Options of createConnectNodeHandler. */
export interface ConnectNodeHandlerOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  /** Called with a handler failure that could not reach the client (e.g. the client went away). */
  readonly onError: (procedure: string, err: unknown) => void;
  /**
   * Observes each call from its arrival, so a call the Connect runtime refuses
   * before any interceptor runs is logged and counted like any other.
   */
  readonly observer?: RequestObserver;
}

/** A request handler for Connect, gRPC and gRPC-Web; returns false when no procedure matches the path. */
export type ConnectNodeHandler = (req: HttpRequest, res: HttpResponse) => boolean;

/**
 * Bytes of an abandoned request body we read and discard to keep the
 * connection usable; a client sending more than this loses the connection.
 */
const MAX_DISCARD_BYTES = 16 * 1024 * 1024;

/**
 * Serves the router's procedures like connect-node's `connectNodeAdapter`,
 * except for request bodies a handler does not read to the end (a request
 * over `readMaxBytes`): connect-node destroys or ignores those, which on
 * HTTP/1.1 can break the keep-alive connection for the next call and on
 * HTTP/2 leaves a half-open stream that holds shutdown until its deadline.
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
    const contentType = req.headers["content-type"] ?? "";
    const requestId = req.headers["x-request-id"];
    const call =
      options.observer &&
      startCallObservation(options.observer, procedure, typeof requestId === "string" ? requestId : undefined);
    if (call !== undefined) res.setHeader("x-request-id", call.requestId);
    const universal = universalRequestFromNodeRequest(
      req as http.IncomingMessage & http2.Http2ServerRequest,
      res as http.ServerResponse & http2.Http2ServerResponse,
      undefined,
      call?.values,
    );
    // A call that reached the interceptors is already finished; these record one the runtime refused.
    let status = 0;
    let carried: ConnectError | undefined;
    const finish = () => call?.finish({ status, error: carried, contentType });
    res.once("close", finish);
    // A handler may answer without reading the whole body (a request over
    // readMaxBytes, refused up front or part-way); deal with the rest here.
    res.once("finish", () => {
      if (!req.readableEnded && !req.destroyed) abandon(req);
    });
    handler({ ...universal, body: bodyOf(req) })
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

/**
 * The response is out but the request body was not read to its end. HTTP/2: reset the
 * stream with NO_ERROR, which tells the client to stop sending (RFC 9113,
 * 8.1). HTTP/1.1 has no such signal: read and discard the rest so the
 * keep-alive connection stays usable, up to a bound.
 */
function abandon(req: HttpRequest): void {
  if ("stream" in req) {
    if (!req.stream.closed) req.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    // Drop what already arrived, or the stream never emits "close".
    req.resume();
    return;
  }
  let discarded = 0;
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.resume();
}
