import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { outcomeOf } from "../hostile/hostile-support.js";
import { parseMetrics, sampleValue } from "../ops/metrics-text.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, useTestApp } from "../support/test-app.js";

const CREATE = "tessera.sessions.v1.SessionService/CreateSession";
const AUTHENTICATE = "tessera.sessions.v1.SessionService/AuthenticateSession";
const SECRET = "s3cret-in-the-body";

/** One gRPC-framed message. */
function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** Sends one request over h2c and waits for its end (status, headers and trailers ignored). */
async function h2Request(baseUrl: string, headers: http2.OutgoingHttpHeaders, body: Uint8Array): Promise<number> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<number>((resolve, reject) => {
      session.on("error", reject);
      const stream = session.request(headers);
      let status = 0;
      stream.on("response", (h) => {
        status = Number(h[":status"]);
      });
      stream.on("data", () => {});
      stream.on("close", () => resolve(status));
      stream.on("error", reject);
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

// Errors the Connect runtime raises before any interceptor runs (over-size body, undecodable message, unsupported
// compression or content type) used to be neither logged nor counted. They go through the same request observer.
describe.each(backends())("calls the Connect runtime refuses, on %s", (backend) => {
  const t = useTestApp(backend);
  const big = new Uint8Array(70_000).fill(0x61);

  type Send = (requestId: string) => Promise<unknown>;
  const connect = (procedure: string, headers: Record<string, string>, body: string | Uint8Array): Send => {
    return (requestId) =>
      fetch(`${t.baseUrl}/${procedure}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "x-request-id": requestId, ...headers },
        body,
      }).then(async (res) => {
        await res.arrayBuffer();
        // The request id is echoed even though no interceptor ran.
        expect(res.headers.get("x-request-id")).toBe(requestId);
      });
  };
  const grpc = (procedure: string, contentType: string, body: Uint8Array): Send => {
    return (requestId) =>
      h2Request(
        t.baseUrl,
        {
          ":method": "POST",
          ":path": `/${procedure}`,
          "content-type": contentType,
          te: "trailers",
          authorization: `Bearer ${TEST_API_KEY}`,
          "x-request-id": requestId,
        },
        body,
      );
  };

  const CASES: ReadonlyArray<readonly [string, string, string, string, Send]> = [
    [
      "malformed Connect JSON",
      CREATE,
      "invalid_argument",
      "RPC_INVALID_ARGUMENT",
      connect(CREATE, { "content-type": "application/json" }, `{"userId": "${SECRET}"`),
    ],
    [
      "a Connect body over MAX_REQUEST_BYTES",
      CREATE,
      "resource_exhausted",
      "RPC_RESOURCE_EXHAUSTED",
      connect(CREATE, { "content-type": "application/json" }, big),
    ],
    [
      "an unsupported Connect compression",
      CREATE,
      "unimplemented",
      "RPC_UNIMPLEMENTED",
      connect(CREATE, { "content-type": "application/json", "content-encoding": "snappy" }, "{}"),
    ],
    [
      "an unsupported content type",
      CREATE,
      "unknown",
      "RPC_UNKNOWN",
      connect(CREATE, { "content-type": "text/plain" }, `{"userId": "${SECRET}"}`),
    ],
    [
      "a loosely written integer (refused by Tessera's JSON check, before any interceptor)",
      AUTHENTICATE,
      "invalid_argument",
      "INVALID_REQUEST_FIELD",
      connect(
        AUTHENTICATE,
        { "content-type": "application/json" },
        '{"sessionToken": "x", "expectedClaimsVersion": "0x1"}',
      ),
    ],
    [
      "undecodable gRPC binary",
      CREATE,
      "internal",
      "RPC_INTERNAL",
      grpc(CREATE, "application/grpc", frame(new Uint8Array([0x0a, 0x7f, 0x01]))),
    ],
    [
      "a gRPC message over MAX_REQUEST_BYTES",
      CREATE,
      "resource_exhausted",
      "RPC_RESOURCE_EXHAUSTED",
      (requestId) =>
        outcomeOf(
          t.client("grpc").createSession({ userId: "x".repeat(70_000) }, { headers: { "x-request-id": requestId } }),
        ),
    ],
    [
      "a gRPC-Web message over MAX_REQUEST_BYTES",
      CREATE,
      "resource_exhausted",
      "RPC_RESOURCE_EXHAUSTED",
      (requestId) =>
        outcomeOf(
          t
            .client("grpc-web")
            .createSession({ userId: "x".repeat(70_000) }, { headers: { "x-request-id": requestId } }),
        ),
    ],
    [
      "undecodable gRPC-Web binary",
      CREATE,
      "internal",
      "RPC_INTERNAL",
      grpc(CREATE, "application/grpc-web+proto", frame(new Uint8Array([0x0a, 0x7f, 0x01]))),
    ],
  ];

  it.each(
    CASES,
  )("%s: one rpc log line and one count, by procedure and code", async (_name, method, code, reason, send) => {
    const scrape = async () => parseMetrics(await (await fetch(`${t.baseUrl}/metrics`)).text());
    const before = await scrape();
    const requestId = `runtime-${randomUUID()}`;
    await send(requestId);
    // The gRPC trailer (and so the observation) may be written just after the stream ends.
    await expect.poll(() => t.logs.filter((line) => line.request_id === requestId).length).toBe(1);
    const line = t.logs.find((l) => l.request_id === requestId);
    expect(line).toMatchObject({ msg: "rpc", level: 30, method, code, reason });
    expect(JSON.stringify(line)).not.toContain(SECRET);
    const after = await scrape();
    expect(sampleValue(after, "tessera_rpc_requests_total", { method, code })).toBe(
      sampleValue(before, "tessera_rpc_requests_total", { method, code }) + 1,
    );
  });

  it("still logs a call that reaches the handlers once, with the interceptor's line", async () => {
    const requestId = `handled-${randomUUID()}`;
    await connect(CREATE, { "content-type": "application/json" }, '{"userId": "observed"}')(requestId);
    await expect.poll(() => t.logs.filter((line) => line.request_id === requestId).length).toBe(1);
    expect(t.logs.find((l) => l.request_id === requestId)).toMatchObject({ method: CREATE, code: "ok" });
  });
});
