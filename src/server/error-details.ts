import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { withReason } from "../rpc/error-mapper.js";

/**
 * Gives errors that the Connect runtime raises before any interceptor runs
 * (a request over the size limit, an undecodable message, an unknown
 * compression) the same `ErrorDetail` with a stable reason that Tessera's own
 * errors carry, in each protocol's own error format. Responses that are not
 * errors, or already carry a detail, pass unchanged. `onError` sees the error
 * a response carries, as it was raised, while the response is written.
 */
export function withErrorDetail(
  res: UniversalServerResponse,
  requestContentType: string,
  onError: (err: ConnectError) => void = () => {},
): UniversalServerResponse {
  if (requestContentType.startsWith("application/grpc-web")) {
    // grpc-web-text (base64) is left as it is: no client of ours speaks it.
    if (requestContentType.startsWith("application/grpc-web-text") || res.body === undefined) return res;
    return { ...res, body: grpcWebTrailerWithDetail(res.body, onError) };
  }
  if (requestContentType.startsWith("application/grpc")) {
    const trailer = res.trailer;
    if (trailer === undefined) return res;
    // The trailer is filled in while the body streams; node writes it after the last chunk.
    return {
      status: res.status,
      header: res.header,
      body: res.body,
      get trailer() {
        addDetailToTrailer(trailer, onError);
        return trailer;
      },
    };
  }
  if (res.status === 200 || res.body === undefined) return res;
  return { ...res, body: connectErrorWithDetail(res.body, res.header, onError) };
}

/** Adds the ErrorDetail with its reason to a gRPC trailer carrying a runtime error without one; `onError` sees the error. */
export function addDetailToTrailer(trailer: Headers, onError: (err: ConnectError) => void): void {
  const err = findTrailerError(trailer);
  if (err === undefined) return;
  onError(err);
  const detailed = withReason(err);
  if (detailed !== undefined) setTrailerStatus(trailer, detailed);
}

async function* grpcWebTrailerWithDetail(
  body: AsyncIterable<Uint8Array>,
  onError: (err: ConnectError) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    const length = chunk.length >= 5 ? new DataView(chunk.buffer, chunk.byteOffset + 1, 4).getUint32(0) : -1;
    if (length !== chunk.length - 5 || (chunk[0] ?? 0) !== trailerFlag) {
      yield chunk;
      continue;
    }
    const trailer = trailerParse(chunk.subarray(5));
    addDetailToTrailer(trailer, onError);
    const data = trailerSerialize(trailer);
    const frame = new Uint8Array(5 + data.length);
    frame[0] = trailerFlag;
    new DataView(frame.buffer).setUint32(1, data.length);
    frame.set(data, 5);
    yield frame;
  }
}

async function* connectErrorWithDetail(
  body: AsyncIterable<Uint8Array>,
  header: Headers | undefined,
  onError: (err: ConnectError) => void,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let out: Uint8Array = bytes;
  try {
    const err = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown));
    onError(err);
    const detailed = withReason(err);
    if (detailed !== undefined) out = errorToJsonBytes(detailed, {});
  } catch {
    // Not a Connect error body: send it as it was.
  }
  if (header?.has("content-length")) header.set("content-length", String(out.length));
  yield out;
}
