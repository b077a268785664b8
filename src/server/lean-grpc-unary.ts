import type http2 from "node:http2";
import { create, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  type EnvelopedMessage,
  encodeEnvelope,
  envelopeCompress,
  type Serialization,
} from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { withFastToBinary } from "../rpc/fast-to-binary.js";
import { addDetailToTrailer } from "./error-details.js";
import { nodeHeaders, respondWhole } from "./http2-stream-response.js";
import type { UnaryRegistration } from "./recording-router.js";
import { ResponseHeaders } from "./response-headers.js";

/** What serving one gRPC unary call needs, built once per procedure. */
export interface LeanGrpcProcedure {
  readonly registration: UnaryRegistration;
  readonly input: Serialization<Message>;
  readonly output: Serialization<Message>;
}

/** Prepares a recorded unary procedure for the lean gRPC path. */
export function leanGrpcProcedure(registration: UnaryRegistration): LeanGrpcProcedure {
  const { method, options } = registration;
  const lookup = createMethodSerializationLookup(method, options.binaryOptions, options.jsonOptions, options);
  const output = withFastToBinary(method.output, lookup.getO(true), options.writeMaxBytes);
  return { registration, input: lookup.getI(true), output };
}

/**
 * Whether the lean path serves this request exactly as Connect's gRPC
 * handler would: an HTTP/2 POST of `application/grpc[+proto]` with an
 * authority, no deadline (`grpc-timeout`) and an uncompressed request.
 * Everything else (gRPC-Web, JSON, Connect, HTTP/1.1, deadlines, compressed
 * requests) goes through Connect's handler.
 */
export function isLeanGrpcRequest(h: http2.IncomingHttpHeaders): boolean {
  const type = h["content-type"];
  const encoding = h["grpc-encoding"];
  return (
    (type === "application/grpc" || type === "application/grpc+proto") &&
    h[":method"] === "POST" &&
    h[":authority"] !== undefined &&
    h["grpc-timeout"] === undefined &&
    (encoding === undefined || encoding === "identity")
  );
}

/** One call on the lean path. */
export interface LeanGrpcCall {
  readonly procedure: LeanGrpcProcedure;
  readonly stream: http2.ServerHttp2Stream;
  /** The request headers as node gives them, and as web Headers. */
  readonly headers: http2.IncomingHttpHeaders;
  readonly header: Headers;
  /** Sent as the first response header (before the interceptors' own), when given. */
  readonly requestId: string | undefined;
  readonly values: ContextValues;
  /** The decoded request message. */
  readonly message: Message;
  /** Called with the HTTP status just before the response is written. */
  readonly onRespond: (status: number) => void;
  /** Sees the error the response carries, as it is written. */
  readonly onError: (err: ConnectError) => void;
}

const CONTENT_TYPE = "application/grpc+proto";
const noTimeout = () => undefined;

/**
 * Serves one gRPC unary call the way Connect's gRPC handler and connect-node
 * write it (the same headers, one message envelope, compressed when the
 * client accepts it and it is at least `compressMinBytes`, and the
 * `grpc-status` trailer with the error's metadata and details), through the
 * same interceptors, without Connect's async-iterable pipeline and without an
 * AbortSignal unless the implementation or an interceptor asks for one.
 */
export async function serveLeanGrpc(call: LeanGrpcCall): Promise<void> {
  const { registration, output } = call.procedure;
  const { method, impl, options } = registration;
  const { stream } = call;
  const responseHeader = new ResponseHeaders({ "content-type": CONTENT_TYPE });
  const responseTrailer = new ResponseHeaders({ "grpc-status": "0" });
  const compression = compressionNegotiate(
    options.acceptCompression,
    call.header.get("grpc-encoding"),
    call.header.get("grpc-accept-encoding"),
    "grpc-accept-encoding",
  );
  if (compression.response !== null) responseHeader.set("grpc-encoding", compression.response.name);
  // Aborted when the call ends, or earlier when the client goes away (watched only once someone asks for it).
  const signal = lazySignal((abort) => stream.once("close", abort));

  const invoke = async (request: UnaryRequest): Promise<UnaryResponse> => {
    const context: HandlerContext = {
      method,
      service: method.parent,
      get signal() {
        return request.signal;
      },
      timeoutMs: noTimeout,
      requestMethod: request.requestMethod,
      requestHeader: request.header,
      responseHeader,
      responseTrailer,
      protocolName: "grpc",
      values: request.contextValues,
      url: request.url,
    };
    const result = await impl(request.message, context);
    return {
      stream: false,
      service: method.parent,
      method,
      header: responseHeader,
      trailer: responseTrailer,
      message: create(method.output, result),
    };
  };
  const request: UnaryRequest = {
    stream: false,
    service: method.parent,
    method,
    requestMethod: "POST",
    get url() {
      return `http://${call.headers[":authority"]}${call.headers[":path"]}`;
    },
    get signal() {
      return signal.get();
    },
    header: call.header,
    contextValues: call.values,
    message: call.message,
  };
  let body: Uint8Array | undefined;
  try {
    const response = await withInterceptors(invoke, options.interceptors)(request);
    copyHeaders(response.header, responseHeader);
    copyHeaders(response.trailer, responseTrailer);
    let envelope: EnvelopedMessage = { flags: 0, data: output.serialize(response.message) };
    if (compression.response !== null) {
      envelope = await envelopeCompress(envelope, compression.response, options.compressMinBytes);
    }
    body = encodeEnvelope(envelope.flags, envelope.data);
  } catch (e) {
    signal.abort(e);
    const err =
      e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
    setTrailerStatus(responseTrailer, err);
    addDetailToTrailer(responseTrailer, call.onError);
  }
  signal.abort();
  if (stream.destroyed || stream.closed) return; // the client went away; nothing to tell it
  call.onRespond(200);
  // Laid out as the compatibility layer's response did: the request id first, then the handler's headers.
  const head: http2.OutgoingHttpHeaders = Object.create(null);
  head[":status"] = 200;
  if (call.requestId !== undefined) head["x-request-id"] = call.requestId;
  respondWhole(stream, nodeHeaders(responseHeader, head), body, nodeHeaders(responseTrailer));
}

function withInterceptors(
  invoke: (req: UnaryRequest) => Promise<UnaryResponse>,
  interceptors: readonly Interceptor[],
): (req: UnaryRequest) => Promise<UnaryResponse> {
  let next = invoke as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
  return next as (req: UnaryRequest) => Promise<UnaryResponse>;
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => {
    to.set(key, value);
  });
}

/**
 * An AbortSignal made only when first asked for (`watch` then gets the
 * function aborting it); aborting before that costs nothing.
 */
function lazySignal(watch: (abort: () => void) => void): { get(): AbortSignal; abort(reason?: unknown): void } {
  let controller: AbortController | undefined;
  let aborted = false;
  const lazy = {
    get() {
      if (controller === undefined) {
        controller = new AbortController();
        if (aborted) controller.abort();
        else watch(() => lazy.abort());
      }
      return controller.signal;
    },
    abort(reason?: unknown) {
      aborted = true;
      if (controller !== undefined && !controller.signal.aborted) controller.abort(reason);
    },
  };
  return lazy;
}
