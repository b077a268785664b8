import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";

const protoDir = fileURLToPath(new URL("../../proto/", import.meta.url));

type Value =
  | { nullValue: "NULL_VALUE" }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: Struct }
  | { listValue: { values: Value[] } };
interface Struct {
  fields: Record<string, Value>;
}
interface Session {
  sessionId: string;
  userId: string;
  customClaims: Struct;
  claimsVersion: string;
}
interface Issued {
  session: Session;
  sessionToken: string;
  sessionJwt: string;
}
type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => void;
interface SessionServiceClient extends grpc.Client {
  CreateSession: Unary<object, Issued>;
  AuthenticateSession: Unary<object, Issued>;
  ListSessions: Unary<object, { sessions: Session[] }>;
  RevokeSession: Unary<object, object>;
}

/** google.protobuf.Struct as proto-loader gives it, back to plain JSON. */
function fromStruct(struct: Struct | null | undefined): Record<string, unknown> {
  const value = (v: Value): unknown => {
    if ("nullValue" in v) return null;
    if ("numberValue" in v) return v.numberValue;
    if ("stringValue" in v) return v.stringValue;
    if ("boolValue" in v) return v.boolValue;
    if ("structValue" in v) return fromStruct(v.structValue);
    return v.listValue.values.map(value);
  };
  return Object.fromEntries(Object.entries(struct?.fields ?? {}).map(([k, v]) => [k, value(v)]));
}

describe.each(backends())("@grpc/grpc-js with @grpc/proto-loader on %s", (backend) => {
  let t: TestApp;
  let client: SessionServiceClient;
  beforeAll(async () => {
    t = await startTestApp(backend);
    const definition = protoLoader.loadSync("tessera/sessions/v1/session_service.proto", {
      includeDirs: [protoDir],
      longs: String,
      enums: String,
      arrays: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      tessera: { sessions: { v1: { SessionService: grpc.ServiceClientConstructor } } };
    };
    const address = `127.0.0.1:${t.server.port}`;
    client = new loaded.tessera.sessions.v1.SessionService(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as SessionServiceClient;
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  const metadata = (apiKey: string | null = TEST_API_KEY) => {
    const md = new grpc.Metadata();
    if (apiKey !== null) md.set("authorization", `Bearer ${apiKey}`);
    return md;
  };
  const call = <Res>(method: Unary<object, Res>, req: object, apiKey?: string | null): Promise<Res> =>
    new Promise((resolve, reject) =>
      method.call(client, req, metadata(apiKey), (err, res) => (err ? reject(err) : resolve(res))),
    );
  const failure = (promise: Promise<unknown>): Promise<grpc.ServiceError> =>
    promise.then(
      () => {
        throw new Error("the call succeeded");
      },
      (err: grpc.ServiceError) => err,
    );

  it("creates, patches with an explicit null and a nested merge, authenticates by JWT, lists and revokes", async () => {
    const created = await call(client.CreateSession, {
      userId: "grpc-js-user",
      sessionCustomClaims: {
        fields: {
          key_1: { numberValue: 1 },
          key_2: { numberValue: 2 },
          e: { structValue: { fields: { kept: { stringValue: "yes" } } } },
        },
      },
    });
    expect(created.session.userId).toBe("grpc-js-user");
    expect(fromStruct(created.session.customClaims)).toEqual({ key_1: 1, key_2: 2, e: { kept: "yes" } });

    const patched = await call(client.AuthenticateSession, {
      sessionToken: created.sessionToken,
      sessionCustomClaims: {
        fields: {
          key_1: { nullValue: "NULL_VALUE" },
          e: { structValue: { fields: { nested: { stringValue: "val" } } } },
        },
      },
    });
    expect(fromStruct(patched.session.customClaims)).toEqual({ key_2: 2, e: { kept: "yes", nested: "val" } });
    expect(patched.session.claimsVersion).toBe("1");

    const byJwt = await call(client.AuthenticateSession, { sessionJwt: patched.sessionJwt });
    expect(byJwt.session.sessionId).toBe(created.session.sessionId);
    expect(fromStruct(byJwt.session.customClaims)).toEqual({ key_2: 2, e: { kept: "yes", nested: "val" } });
    expect(typeof decodeProtectedHeader(byJwt.sessionJwt).kid).toBe("string");

    const listed = await call(client.ListSessions, { userId: "grpc-js-user" });
    expect(listed.sessions.map((s) => s.sessionId)).toEqual([created.session.sessionId]);

    await call(client.RevokeSession, { sessionToken: created.sessionToken });
    expect((await call(client.ListSessions, { userId: "grpc-js-user" })).sessions).toEqual([]);
    const gone = await failure(call(client.AuthenticateSession, { sessionToken: created.sessionToken }));
    expect(gone.code).toBe(grpc.status.NOT_FOUND);
  });

  it("gets the documented error codes", async () => {
    const unauthenticated = await failure(call(client.ListSessions, { userId: "u" }, null));
    expect(unauthenticated.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await failure(call(client.ListSessions, { userId: "u" }, "wrong-key-0123456789"))).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    const reserved = await failure(
      call(client.CreateSession, { userId: "u", sessionCustomClaims: { fields: { iss: { stringValue: "me" } } } }),
    );
    expect(reserved.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reserved.details).toContain("iss");
    expect(reserved.metadata.get("grpc-status-details-bin")).toHaveLength(1);
    expect((await failure(call(client.CreateSession, { userId: "" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await failure(call(client.AuthenticateSession, {}))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await failure(call(client.AuthenticateSession, { sessionJwt: "not.a.jwt" }))).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    const created = await call(client.CreateSession, { userId: "u" });
    const mismatch = await failure(
      call(client.AuthenticateSession, {
        sessionToken: created.sessionToken,
        sessionCustomClaims: { fields: { a: { numberValue: 1 } } },
        expectedClaimsVersion: "5",
      }),
    );
    expect(mismatch.code).toBe(grpc.status.ABORTED);
    expect((await failure(call(client.AuthenticateSession, { sessionToken: "unknown-token" }))).code).toBe(
      grpc.status.NOT_FOUND,
    );
  });
});
