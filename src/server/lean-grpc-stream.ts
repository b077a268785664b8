import http2 from "node:http2";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { startCallObservation } from "../rpc/logging.js";
import type { RequestObserver } from "../rpc/request-observer.js";
import { kConnection, kHeadersAccepted } from "./call-context.js";
import { withErrorDetail } from "./error-details.js";
import { nodeHeaders, respondWhole } from "./http2-stream-response.js";
import { readLeanBody } from "./lean-grpc-body.js";
import { type LeanGrpcProcedure, serveLeanGrpc } from "./lean-grpc-unary.js";
import { webHeaders } from "./node-headers.js";

/** A unary procedure the lean path serves, with Connect's handler for the bodies it does not take. */
export interface LeanRoute {
  readonly handler: UniversalHandler;
  readonly procedure: string;
  readonly lean: LeanGrpcProcedure;
}

/** What serving a call on its stream needs besides the route (see ConnectNodeHandlerOptions). */
export interface LeanStreamOptions {
  readonly onError: (procedure: string, err: unknown) => void;
  readonly observer?: RequestObserver;
  readonly onLeanCall?: () => void;
  /** Whether the headers were checked (and accepted) by the API key rule. */
  readonly headersChecked: boolean;
}

/** One call served on its stream, and how its response ended so far (for the observation). */
interface StreamCall {
  readonly route: LeanRoute;
  readonly stream: http2.ServerHttp2Stream;
  readonly headers: http2.IncomingHttpHeaders;
  readonly values: ContextValues;
  readonly requestId: string | undefined;
  status: number;
  carried: ConnectError | undefined;
  readonly finish: () => void;
}

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;
const ignore = () => {};

/**
 * Serves a gRPC unary call, whose headers the lean path takes and the API key
 * rule accepted, on its HTTP/2 stream: observed from its arrival (one `rpc`
 * line, metrics), its body read as one plain message and served by the lean
 * path, or else handed with the bytes read so far to Connect's handler, whose
 * response is then written on the stream as connect-node would write it.
 */
export function serveLeanStream(
  options: LeanStreamOptions,
  route: LeanRoute,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  header: Headers,
): void {
  const givenId = headers["x-request-id"];
  const observation =
    options.observer &&
    startCallObservation(options.observer, route.procedure, typeof givenId === "string" ? givenId : undefined);
  const values = (observation?.values ?? createContextValues()).set(kConnection, stream.session);
  if (options.headersChecked) values.set(kHeadersAccepted, true);
  const call: StreamCall = {
    route,
    stream,
    headers,
    values,
    requestId: observation?.requestId,
    status: 0,
    carried: undefined,
    // A call that reached the interceptors is already finished; this records one the runtime refused.
    finish: () =>
      observation?.finish({ status: call.status, error: call.carried, contentType: headers["content-type"] ?? "" }),
  };
  // Registered at once, so that a call whose client goes away at any point is still recorded.
  stream.once("close", call.finish);
  // Node also reports a stream the client reset as an error; "close" covers it.
  stream.on("error", ignore);
  void (async () => {
    const body = await readLeanBody(stream, route.lean.registration.options.readMaxBytes);
    let message: Message | undefined;
    if (body.payload !== undefined) {
      try {
        message = route.lean.input.parse(body.payload);
      } catch {
        // Connect's handler reports it, in its own words.
      }
    }
    if (message === undefined) return serveThroughConnect(call, body.read);
    options.onLeanCall?.();
    await serveLeanGrpc({
      procedure: route.lean,
      stream,
      headers,
      header,
      requestId: call.requestId,
      values,
      message,
      onRespond: (status) => {
        call.status = status;
      },
      onError: (err) => {
        call.carried = err;
        call.finish();
      },
    });
  })().catch((err: unknown) => failed(options, call, err));
}

/** Serves the call through Connect's handler, the request body being the chunks read, then the rest of the stream. */
async function serveThroughConnect(call: StreamCall, read: readonly Uint8Array[]): Promise<void> {
  const { stream, headers } = call;
  // The client went away: its "close" recorded the call, and there is nobody to answer.
  if (stream.destroyed || stream.closed) return;
  const abort = new AbortController();
  stream.once("close", () => abort.abort());
  const contentType = headers["content-type"] ?? "";
  const universal = await call.route.handler({
    httpVersion: "2.0",
    method: "POST",
    url: new URL(headers[":path"] ?? "", `http://${headers[":authority"]}`).toString(),
    header: webHeaders(headers),
    body: replay(read, stream),
    signal: abort.signal,
    contextValues: call.values,
  });
  call.status = universal.status;
  // An error without a body is known now.
  if (universal.body === undefined && universal.status !== 200) call.finish();
  const res = withErrorDetail(universal, contentType, (err) => {
    call.carried = err;
    call.finish();
  });
  const chunks: Uint8Array[] = [];
  if (res.body !== undefined) for await (const chunk of res.body) chunks.push(chunk);
  const head: http2.OutgoingHttpHeaders = Object.create(null);
  head[":status"] = res.status;
  if (call.requestId !== undefined) head["x-request-id"] = call.requestId;
  if (res.header !== undefined) nodeHeaders(new Headers(res.header), head);
  const body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  const trailer = res.trailer;
  respondWhole(stream, head, body, trailer === undefined ? undefined : nodeHeaders(new Headers(trailer)));
}

/** A call that could not be answered: reported unless the client went away, and its stream reset. */
function failed(options: LeanStreamOptions, call: StreamCall, err: unknown): void {
  const connectErr = ConnectError.from(err);
  call.carried ??= connectErr;
  if (connectErr.code !== Code.Aborted) options.onError(call.route.procedure, err);
  if (!call.stream.destroyed && !call.stream.closed) call.stream.close(NGHTTP2_INTERNAL_ERROR);
}

/** The chunks the lean path read, then the rest of the request body; stopping early leaves the stream alone. */
async function* replay(read: readonly Uint8Array[], stream: http2.ServerHttp2Stream): AsyncGenerator<Uint8Array> {
  yield* read;
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
}
