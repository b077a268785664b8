/**
 * The bench's load generator, run as its own process by bench/run.ts so that
 * its CPU is accounted apart from the server's and never shares a process
 * with the floor. Driven over IPC: `init`, then one `run` per phase; replies
 * `measuring` when the measured window starts and `result` when it ends.
 *
 * Two clients: `raw` (default) is a thin gRPC-over-h2c client on node:http2
 * (protobuf-encodes each request, frames it, checks grpc-status, decodes and
 * checks one response in 16); `connect` is @connectrpc/connect-node, as a
 * typical application would call the service (several times the client CPU).
 */
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  AuthenticateSessionRequestSchema,
  AuthenticateSessionResponseSchema,
  CreateSessionRequestSchema,
  CreateSessionResponseSchema,
  SessionService,
} from "../gen/tessera/sessions/v1/session_service_pb.js";
import { hotPatchOf, type Operation, patchOf } from "./operations.js";
import { measure } from "./stats.js";

/** Messages from bench/run.ts. */
export type LoadCommand =
  | {
      readonly type: "init";
      readonly port: number;
      readonly apiKey: string;
      readonly client: "raw" | "connect";
      readonly tokens: string[];
      readonly jwts: string[];
      /** The token of the one session every hot-patch call patches. */
      readonly hotToken: string;
      /** h2c connections the raw client spreads its calls over (so WORKERS > 1 shares the load). */
      readonly connections: number;
    }
  | { readonly type: "run"; readonly op: Operation; readonly seconds: number; readonly concurrency: number };

type Call = (i: number) => Promise<unknown>;

let calls: Record<Operation, Call> | undefined;
let sessions: http2.ClientHttp2Session[] = [];

/** A gRPC unary call over one h2c session: length-prefixed request, grpc-status checked. */
function rawUnary(s: http2.ClientHttp2Session, path: string, apiKey: string) {
  const headers = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc+proto",
    te: "trailers",
    authorization: `Bearer ${apiKey}`,
  };
  return (body: Uint8Array): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      const stream = s.request(headers);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = "";
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          message = String(h["grpc-message"] ?? "");
        }
      };
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", reject);
      stream.on("close", () => {
        if (status !== "0") {
          reject(new Error(`grpc-status ${status ?? "missing"} ${decodeURIComponent(message)}`));
          return;
        }
        const all = Buffer.concat(chunks);
        resolve(all.subarray(5, 5 + all.readUInt32BE(1)));
      });
      stream.end(frame);
    });
}

function rawCalls(
  port: number,
  apiKey: string,
  tokens: string[],
  jwts: string[],
  hotToken: string,
  connections: number,
): Record<Operation, Call> {
  sessions = Array.from({ length: Math.max(1, connections) }, () => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", () => {});
    return s;
  });
  const base = "/tessera.sessions.v1.SessionService/";
  const creates = sessions.map((s) => rawUnary(s, `${base}CreateSession`, apiKey));
  const auths = sessions.map((s) => rawUnary(s, `${base}AuthenticateSession`, apiKey));
  let next = 0;
  // Calls go round the connections in turn.
  const pick = <T>(of: T[]): T => of[next++ % of.length] as T;
  const createCall = (body: Uint8Array) => pick(creates)(body);
  const authCall = (body: Uint8Array) => pick(auths)(body);
  const checked = (body: Buffer, i: number, kind: "create" | "auth") => {
    if (i % 16 !== 0) return;
    const jwt =
      kind === "create"
        ? fromBinary(CreateSessionResponseSchema, body).sessionJwt
        : fromBinary(AuthenticateSessionResponseSchema, body).sessionJwt;
    if (!jwt.startsWith("ey")) throw new Error("response without a session JWT");
  };
  const auth = (i: number, init: Parameters<typeof create<typeof AuthenticateSessionRequestSchema>>[1]) =>
    authCall(toBinary(AuthenticateSessionRequestSchema, create(AuthenticateSessionRequestSchema, init))).then((b) =>
      checked(b, i, "auth"),
    );
  const token = (i: number) => tokens[i % tokens.length] as string;
  const jwt = (i: number) => jwts[i % jwts.length] as string;
  return {
    create: (i) =>
      createCall(
        toBinary(
          CreateSessionRequestSchema,
          create(CreateSessionRequestSchema, { userId: `c-${i}`, sessionCustomClaims: { plan: "pro" } }),
        ),
      ).then((b) => checked(b, i, "create")),
    token: (i) => auth(i, { credential: { case: "sessionToken", value: token(i) } }),
    patch: (i) => auth(i, { credential: { case: "sessionToken", value: token(i) }, sessionCustomClaims: patchOf(i) }),
    "hot-patch": (i) =>
      auth(i, { credential: { case: "sessionToken", value: hotToken }, sessionCustomClaims: hotPatchOf(i) }),
    jwt: (i) => auth(i, { credential: { case: "sessionJwt", value: jwt(i) } }),
    mixed: (i) =>
      i % 2 === 0
        ? auth(i, { credential: { case: "sessionToken", value: token(i) }, sessionCustomClaims: patchOf(i) })
        : auth(i, { credential: { case: "sessionJwt", value: jwt(i) } }),
  };
}

function connectCalls(
  port: number,
  apiKey: string,
  tokens: string[],
  jwts: string[],
  hotToken: string,
): Record<Operation, Call> {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const client = createClient(
    SessionService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [auth] }),
  );
  const token = (i: number) => tokens[i % tokens.length] as string;
  const jwt = (i: number) => jwts[i % jwts.length] as string;
  return {
    create: (i) => client.createSession({ userId: `c-${i}`, sessionCustomClaims: { plan: "pro" } }),
    token: (i) => client.authenticateSession({ credential: { case: "sessionToken", value: token(i) } }),
    patch: (i) =>
      client.authenticateSession({
        credential: { case: "sessionToken", value: token(i) },
        sessionCustomClaims: patchOf(i),
      }),
    "hot-patch": (i) =>
      client.authenticateSession({
        credential: { case: "sessionToken", value: hotToken },
        sessionCustomClaims: hotPatchOf(i),
      }),
    jwt: (i) => client.authenticateSession({ credential: { case: "sessionJwt", value: jwt(i) } }),
    mixed: (i) =>
      i % 2 === 0
        ? client.authenticateSession({
            credential: { case: "sessionToken", value: token(i) },
            sessionCustomClaims: patchOf(i),
          })
        : client.authenticateSession({ credential: { case: "sessionJwt", value: jwt(i) } }),
  };
}

process.on("message", (raw) => {
  const command = raw as LoadCommand;
  const send = (m: unknown) => process.send?.(m);
  if (command.type === "init") {
    calls =
      command.client === "connect"
        ? connectCalls(command.port, command.apiKey, command.tokens, command.jwts, command.hotToken)
        : rawCalls(command.port, command.apiKey, command.tokens, command.jwts, command.hotToken, command.connections);
    send({ type: "ready" });
    return;
  }
  const call = calls?.[command.op];
  if (call === undefined) throw new Error("load generator not initialised");
  measure(command.op, command.concurrency, command.seconds, call, () => send({ type: "measuring" })).then(
    (stats) => send({ type: "result", stats }),
    (err: unknown) => send({ type: "error", message: String(err) }),
  );
});

process.on("disconnect", () => {
  for (const s of sessions) s.close();
  process.exit(0);
});
