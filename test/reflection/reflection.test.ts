import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
  timestampFromDate,
} from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_tessera_sessions_v1_session_service,
  SessionService,
} from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { createReflectionRegistry, createReflectionResponder, registerReflection } from "../../src/reflection/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bufBin = `${root}node_modules/.bin/buf`;
const execFileAsync = promisify(execFile);

/** The plain-object shape @grpc/proto-loader gives reflection responses (keepCase, oneofs). */
interface ReflectionResponse {
  valid_host: string;
  original_request: Record<string, unknown> | null;
  message_response: string;
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
}

type Version = "v1" | "v1alpha";

let server: http2.Http2Server;
let baseUrl: string;
let address: string;
const sessions = new Set<http2.ServerHttp2Session>();
const clients: grpc.Client[] = [];

beforeAll(async () => {
  server = http2.createServer(
    connectNodeAdapter({
      routes: (router) => {
        registerReflection(router, [file_tessera_sessions_v1_session_service]);
        // A stub, so that buf curl can show a full call encoded and decoded
        // with schemas learned through reflection.
        router.service(SessionService, {
          createSession: (request) => ({
            session: {
              sessionId: "session-1",
              userId: request.userId,
              startedAt: timestampFromDate(new Date("2026-01-02T03:04:05Z")),
              customClaims: { plan: "pro" },
            },
            sessionToken: "token-1",
          }),
        });
      },
    }),
  );
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  address = `127.0.0.1:${port}`;
  baseUrl = `http://${address}`;
});

afterAll(async () => {
  for (const client of clients) {
    client.close();
  }
  for (const session of sessions) {
    session.destroy();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends all requests on one ServerReflectionInfo stream via @grpc/grpc-js and collects the responses. */
async function reflect(version: Version, requests: object[]): Promise<ReflectionResponse[]> {
  const definition = protoLoader.loadSync(`${root}proto/grpc/reflection/${version}/reflection.proto`, {
    keepCase: true,
    oneofs: true,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<Version, { ServerReflection: grpc.ServiceClientConstructor }> };
  };
  const client = new loaded.grpc.reflection[version].ServerReflection(address, grpc.credentials.createInsecure());
  clients.push(client);
  const call = (
    client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }
  ).ServerReflectionInfo();
  const responses: ReflectionResponse[] = [];
  const done = new Promise<ReflectionResponse[]>((resolve, reject) => {
    call.on("data", (response: ReflectionResponse) => responses.push(response));
    call.on("error", reject);
    call.on("end", () => resolve(responses));
  });
  for (const request of requests) {
    call.write(request);
  }
  call.end();
  return done;
}

async function reflectOne(request: object, version: Version = "v1"): Promise<ReflectionResponse> {
  const responses = await reflect(version, [request]);
  expect(responses).toHaveLength(1);
  return responses[0]!;
}

function decodeFiles(response: ReflectionResponse): FileDescriptorProto[] {
  expect(response.message_response).toBe("file_descriptor_response");
  return response.file_descriptor_response!.file_descriptor_proto.map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, bytes),
  );
}

async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(bufBin, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    timeout: 20_000,
  });
  return stdout;
}

const sessionServiceFile = "tessera/sessions/v1/session_service.proto";
const sessionServiceDeps = [
  "google/protobuf/struct.proto",
  "tessera/sessions/v1/session.proto",
  "google/protobuf/timestamp.proto",
];

describe.each<Version>(["v1", "v1alpha"])("grpc.reflection.%s over @grpc/grpc-js", (version) => {
  it("lists the served services and both reflection services, echoing host and request", async () => {
    const response = await reflectOne({ host: "example.test", list_services: "*" }, version);
    expect(response.valid_host).toBe("example.test");
    expect(response.original_request).toMatchObject({ host: "example.test", list_services: "*" });
    expect(response.list_services_response!.service.map((s) => s.name).sort()).toEqual([
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "tessera.sessions.v1.SessionService",
    ]);
  });

  it("answers file_by_filename with the file first, then its transitive dependencies", async () => {
    const files = decodeFiles(await reflectOne({ file_by_filename: sessionServiceFile }, version));
    expect(files.map((f) => f.name)).toEqual([sessionServiceFile, ...sessionServiceDeps]);
    expect(files[0]!.package).toBe("tessera.sessions.v1");
    expect(files[0]!.dependency).toEqual(["google/protobuf/struct.proto", "tessera/sessions/v1/session.proto"]);
    expect(files[0]!.service.map((s) => s.name)).toEqual(["SessionService"]);
    expect(files[0]!.service[0]!.method.map((m) => m.name)).toContain("CreateSession");
    expect(files[2]!.dependency).toEqual(["google/protobuf/struct.proto", "google/protobuf/timestamp.proto"]);
  });

  it("answers error_response NOT_FOUND for an unknown symbol", async () => {
    const response = await reflectOne({ file_containing_symbol: "tessera.sessions.v1.NoSuchThing" }, version);
    expect(response.message_response).toBe("error_response");
    expect(response.error_response!.error_code).toBe(5);
    expect(response.original_request).toMatchObject({ file_containing_symbol: "tessera.sessions.v1.NoSuchThing" });
  });
});

describe("grpc.reflection.v1 requests", () => {
  it.each([
    ["tessera.sessions.v1.SessionService", sessionServiceFile],
    ["tessera.sessions.v1.SessionService.CreateSession", sessionServiceFile],
    ["tessera.sessions.v1.CreateSessionRequest", sessionServiceFile],
    ["tessera.sessions.v1.CreateSessionRequest.user_id", sessionServiceFile],
    ["tessera.sessions.v1.AuthenticateSessionRequest.credential", sessionServiceFile],
    [".tessera.sessions.v1.Session", "tessera/sessions/v1/session.proto"],
    ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ["google.protobuf.Struct.FieldsEntry", "google/protobuf/struct.proto"],
    ["google.protobuf.NullValue", "google/protobuf/struct.proto"],
    ["google.protobuf.NULL_VALUE", "google/protobuf/struct.proto"],
    ["grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo", "grpc/reflection/v1alpha/reflection.proto"],
  ])("file_containing_symbol %s is in %s", async (symbol, fileName) => {
    const files = decodeFiles(await reflectOne({ file_containing_symbol: symbol }));
    expect(files[0]!.name).toBe(fileName);
    expect(new Set(files.map((f) => f.name)).size).toBe(files.length);
    for (const file of files) {
      for (const dependency of file.dependency) {
        expect(files.map((f) => f.name)).toContain(dependency);
      }
    }
  });

  it("serves well-known types by file name", async () => {
    const files = decodeFiles(await reflectOne({ file_by_filename: "google/protobuf/timestamp.proto" }));
    expect(files.map((f) => f.name)).toEqual(["google/protobuf/timestamp.proto"]);
    expect(files[0]!.messageType.map((m) => m.name)).toEqual(["Timestamp"]);
  });

  it("answers NOT_FOUND for an unknown file name", async () => {
    const response = await reflectOne({ file_by_filename: "no/such/file.proto" });
    expect(response.error_response!.error_code).toBe(5);
  });

  it("answers NOT_FOUND for file_containing_extension without such an extension", async () => {
    const response = await reflectOne({
      file_containing_extension: { containing_type: "tessera.sessions.v1.Session", extension_number: 100 },
    });
    expect(response.message_response).toBe("error_response");
    expect(response.error_response!.error_code).toBe(5);
  });

  it("answers all_extension_numbers_of_type with an empty list, or NOT_FOUND for an unknown type", async () => {
    const known = await reflectOne({ all_extension_numbers_of_type: "tessera.sessions.v1.Session" });
    expect(known.all_extension_numbers_response).toEqual({
      base_type_name: "tessera.sessions.v1.Session",
      extension_number: [],
    });
    const unknown = await reflectOne({ all_extension_numbers_of_type: "tessera.sessions.v1.Nope" });
    expect(unknown.error_response!.error_code).toBe(5);
  });

  it("answers every request on one stream with one response, in order", async () => {
    const responses = await reflect("v1", [
      { list_services: "" },
      { file_containing_symbol: "tessera.sessions.v1.Session" },
      { file_by_filename: "nope.proto" },
      { file_by_filename: sessionServiceFile },
    ]);
    expect(responses.map((r) => r.message_response)).toEqual([
      "list_services_response",
      "file_descriptor_response",
      "error_response",
      "file_descriptor_response",
    ]);
    expect(decodeFiles(responses[3]!).map((f) => f.name)).toEqual([sessionServiceFile, ...sessionServiceDeps]);
  });
});

describe("buf curl through reflection", () => {
  it.each([
    [[]],
    [["--reflect-protocol", "grpc-v1"]],
    [["--reflect-protocol", "grpc-v1alpha"]],
  ])("lists services %j", async (flags) => {
    const out = await bufCurl(...flags, "--list-services", baseUrl);
    expect(out.trim().split("\n").sort()).toEqual([
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "tessera.sessions.v1.SessionService",
    ]);
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("lists methods with --reflect-protocol %s", async (protocol) => {
    const out = await bufCurl("--reflect-protocol", protocol, "--list-methods", baseUrl);
    const methods = out.trim().split("\n");
    expect(methods).toContain("tessera.sessions.v1.SessionService/CreateSession");
    expect(methods).toContain("tessera.sessions.v1.SessionService/GetJwks");
    expect(methods).toContain("grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
  });

  it("encodes a request and decodes the response with schemas learned by reflection", async () => {
    const out = await bufCurl(
      "-d",
      JSON.stringify({ userId: "user-1", sessionCustomClaims: { a: 1 }, attributes: { ipAddress: "10.0.0.1" } }),
      `${baseUrl}/tessera.sessions.v1.SessionService/CreateSession`,
    );
    expect(JSON.parse(out)).toEqual({
      session: {
        sessionId: "session-1",
        userId: "user-1",
        startedAt: "2026-01-02T03:04:05Z",
        customClaims: { plan: "pro" },
      },
      sessionToken: "token-1",
    });
  });

  it("rejects a request field that the reflected input schema does not have", async () => {
    await expect(
      bufCurl("-d", '{"noSuchField": 1}', `${baseUrl}/tessera.sessions.v1.SessionService/CreateSession`),
    ).rejects.toThrow(/noSuchField/);
  });
});

describe("extensions (responder over a registry)", () => {
  // A file declaring `extend google.protobuf.FieldOptions { string label = 50001; }`.
  const optionsFile = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: "example/options.proto",
      package: "example",
      syntax: "proto2",
      dependency: ["google/protobuf/descriptor.proto"],
      extension: [
        {
          name: "label",
          number: 50001,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.STRING,
          extendee: ".google.protobuf.FieldOptions",
        },
      ],
    }),
    () => file_google_protobuf_descriptor,
  ).getFile("example/options.proto")!;
  const respond = createReflectionResponder(createReflectionRegistry([optionsFile]), []);

  it("answers file_containing_extension and all_extension_numbers_of_type", () => {
    const byExtension = respond(
      create(ServerReflectionRequestSchema, {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "google.protobuf.FieldOptions", extensionNumber: 50001 },
        },
      }),
    );
    expect(byExtension.messageResponse.case).toBe("fileDescriptorResponse");
    const files =
      byExtension.messageResponse.case === "fileDescriptorResponse"
        ? byExtension.messageResponse.value.fileDescriptorProto.map(
            (b) => fromBinary(FileDescriptorProtoSchema, b).name,
          )
        : [];
    expect(files).toEqual(["example/options.proto", "google/protobuf/descriptor.proto"]);

    const numbers = respond(
      create(ServerReflectionRequestSchema, {
        messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.FieldOptions" },
      }),
    );
    expect(numbers.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "google.protobuf.FieldOptions", extensionNumber: [50001] },
    });

    const bySymbol = respond(
      create(ServerReflectionRequestSchema, {
        messageRequest: { case: "fileContainingSymbol", value: "example.label" },
      }),
    );
    expect(bySymbol.messageResponse.case).toBe("fileDescriptorResponse");
  });
});
