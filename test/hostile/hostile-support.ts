import http2 from "node:http2";
import { type Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { sql } from "kysely";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { TEST_API_KEY, type TestApp } from "../support/test-app.js";

/** Every stored session row as PostgreSQL prints it, in a fixed order: equal strings mean byte-identical data. */
export async function storedSnapshot(t: TestApp): Promise<string> {
  const { rows } = await sql<{ row: string }>`select s::text as row from sessions s order by session_id`.execute(
    t.app.database.db,
  );
  return rows.map((r) => r.row).join("\n");
}

/** The gRPC code and ErrorDetail reason of a failed call (or of success). */
export interface Outcome {
  readonly code: Code | "ok";
  readonly reason: string | undefined;
  readonly message: string;
}

/** Runs a call and reports its code and reason instead of throwing. */
export async function outcomeOf(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { code: "ok", reason: undefined, message: "" };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, reason: e.findDetails(ErrorDetailSchema)[0]?.reason, message: e.rawMessage };
  }
}

/** Sends one already-encoded protobuf message as a unary gRPC call over h2c and parses the status from the trailers. */
export async function rawGrpcCall(baseUrl: string, method: string, message: Uint8Array): Promise<Outcome> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<Outcome>((done, fail) => {
      session.on("error", fail);
      const req = session.request({
        ":method": "POST",
        ":path": `/tessera.sessions.v1.SessionService/${method}`,
        "content-type": "application/grpc+proto",
        te: "trailers",
        authorization: `Bearer ${TEST_API_KEY}`,
      });
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => {
        headers = h;
      });
      req.on("data", () => {});
      req.on("trailers", (trailers) => {
        const all = new Headers();
        for (const source of [headers, trailers]) {
          for (const [name, value] of Object.entries(source)) {
            if (!name.startsWith(":") && value !== undefined) all.set(name, String(value));
          }
        }
        const err = findTrailerError(all);
        done(
          err === undefined
            ? { code: "ok", reason: undefined, message: "" }
            : { code: err.code, reason: err.findDetails(ErrorDetailSchema)[0]?.reason, message: err.rawMessage },
        );
      });
      req.on("error", fail);
      req.end(frame);
    });
  } finally {
    session.close();
  }
}

/** Protobuf wire helpers, enough to hand-build a Struct too deep for any encoder's recursion. */
export const wire = {
  varint(n: number): number[] {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  },
  /** A length-delimited field. */
  field(fieldNumber: number, body: Uint8Array): Uint8Array {
    const head = [...wire.varint((fieldNumber << 3) | 2), ...wire.varint(body.length)];
    const out = new Uint8Array(head.length + body.length);
    out.set(head, 0);
    out.set(body, head.length);
    return out;
  },
  concat(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
};

/** A google.protobuf.Struct `{"a": {"a": ... {"a": true}}}` nested `depth` objects deep, in binary. */
export function deepStructBinary(depth: number): Uint8Array {
  const enc = new TextEncoder();
  // Value { bool_value (4) = true }
  let value: Uint8Array = new Uint8Array([0x20, 0x01]);
  let struct: Uint8Array = new Uint8Array();
  for (let level = 0; level < depth; level++) {
    // Struct { fields (1) = entry { key (1) = "a", value (2) = value } }
    struct = wire.field(1, wire.concat(wire.field(1, enc.encode("a")), wire.field(2, value)));
    // Value { struct_value (5) = struct }
    value = wire.field(5, struct);
  }
  return struct;
}
