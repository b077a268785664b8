import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * The request with its body replaced by one empty message (`{}` in JSON, no
 * bytes in protobuf) in the framing its content type asks for: a 5-byte
 * envelope for gRPC, gRPC-Web and Connect streaming, the bare message for
 * Connect unary (whose length and compression headers go too). The
 * Connect runtime decodes it without reading the real body.
 */
export function withEmptyMessage(req: UniversalServerRequest): UniversalServerRequest {
  if (req.method === "GET") return req; // a Connect GET carries its message in the query, not the body
  const contentType = req.header.get("content-type") ?? "";
  const message = /[/+]json\b/.test(contentType) ? new TextEncoder().encode("{}") : new Uint8Array(0);
  if (/^application\/(grpc|connect\+)/.test(contentType)) {
    const envelope = new Uint8Array(5 + message.length);
    new DataView(envelope.buffer).setUint32(1, message.length);
    envelope.set(message, 5);
    return { ...req, body: once(envelope) };
  }
  const header = new Headers(req.header);
  header.delete("content-length");
  header.delete("content-encoding");
  return { ...req, header, body: once(message) };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
