/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) over a protobuf-es
 * file registry. Requests are answered from the registry alone: every file in
 * it can be fetched by name, and every symbol it declares (service, method,
 * message, field, oneof, enum, enum value, extension) resolves to its file.
 * File answers carry the file first, then all its transitive dependencies.
 */
import {
  create,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
  type ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionRequestSchema as ServerReflectionRequestSchemaV1alpha,
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1alpha,
  type ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** gRPC status codes used in error_response. */
const code = { invalidArgument: 3, notFound: 5 } as const;

type ResponseBody = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/** Answers one grpc.reflection.v1 request with exactly one response. */
export type ReflectionResponder = (request: ServerReflectionRequest) => ServerReflectionResponse;

/** Both reflection service implementations, ready for `router.service`. */
export interface ReflectionServices {
  readonly v1: ServiceImpl<typeof ServerReflectionV1>;
  readonly v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
}

/** Creates a responder that answers reflection requests from `registry`, listing `serviceNames`. */
export function createReflectionResponder(
  registry: FileRegistry,
  serviceNames: readonly string[],
): ReflectionResponder {
  const symbols = indexSymbols(registry);
  const extensionNumbers = indexExtensionNumbers(registry);
  const encoded = new Map<string, Uint8Array>();
  const services = [...new Set(serviceNames)].map((name) => ({ name }));

  function encode(file: DescFile): Uint8Array {
    let bytes = encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }

  function filesResponse(file: DescFile): ResponseBody {
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: withDependencies(file).map(encode) },
    };
  }

  function answer(request: ServerReflectionRequest): ResponseBody {
    const message = request.messageRequest;
    switch (message.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: services } };
      case "fileByFilename": {
        const file = registry.getFile(message.value);
        return file ? filesResponse(file) : notFound(`file not found: ${message.value}`);
      }
      case "fileContainingSymbol": {
        const file = symbols.get(stripDot(message.value));
        return file ? filesResponse(file) : notFound(`symbol not found: ${message.value}`);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = message.value;
        const extendee = registry.getMessage(stripDot(containingType));
        const extension = extendee && registry.getExtensionFor(extendee, extensionNumber);
        return extension
          ? filesResponse(extension.file)
          : notFound(`extension not found: ${containingType} ${extensionNumber}`);
      }
      case "allExtensionNumbersOfType": {
        const typeName = stripDot(message.value);
        if (registry.getMessage(typeName) === undefined) {
          return notFound(`type not found: ${message.value}`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: typeName, extensionNumber: extensionNumbers.get(typeName) ?? [] },
        };
      }
      case undefined:
        return error(code.invalidArgument, "no message_request set");
    }
  }

  return (request) =>
    create(ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(request),
    });
}

/** Creates the v1 and v1alpha ServerReflectionInfo implementations over `registry`, listing `serviceNames`. */
export function createReflectionServices(registry: FileRegistry, serviceNames: readonly string[]): ReflectionServices {
  const respond = createReflectionResponder(registry, serviceNames);
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          yield respond(request);
        }
      },
    },
    v1alpha: {
      // v1alpha is wire-identical to v1, so requests and responses are
      // converted through their binary encoding.
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          const v1Request = fromBinary(
            ServerReflectionRequestSchema,
            toBinary(ServerReflectionRequestSchemaV1alpha, request),
          );
          yield fromBinary(
            ServerReflectionResponseSchemaV1alpha,
            toBinary(ServerReflectionResponseSchema, respond(v1Request)),
          );
        }
      },
    },
  };
}

function notFound(message: string): ResponseBody {
  return error(code.notFound, message);
}

function error(errorCode: number, errorMessage: string): ResponseBody {
  return { case: "errorResponse", value: { errorCode, errorMessage } };
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

/** The file followed by its transitive dependencies, breadth first, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const result = [file];
  const seen = new Set([file.proto.name]);
  // The array iterator sees files pushed while iterating, which makes this breadth first.
  for (const current of result) {
    for (const dependency of current.dependencies) {
      if (!seen.has(dependency.proto.name)) {
        seen.add(dependency.proto.name);
        result.push(dependency);
      }
    }
  }
  return result;
}

/** Maps every fully-qualified symbol declared in the registry's files to its file. */
function indexSymbols(registry: FileRegistry): Map<string, DescFile> {
  const symbols = new Map<string, DescFile>();
  const add = (name: string, file: DescFile): void => {
    if (!symbols.has(name)) {
      symbols.set(name, file);
    }
  };
  const addEnum = (desc: DescEnum, scope: string): void => {
    add(desc.typeName, desc.file);
    // Enum values are scoped as siblings of their enum, like in C++.
    for (const value of desc.values) {
      add(scope === "" ? value.name : `${scope}.${value.name}`, desc.file);
    }
  };
  const addExtension = (desc: DescExtension): void => add(desc.typeName, desc.file);
  const addMessage = (desc: DescMessage): void => {
    add(desc.typeName, desc.file);
    for (const field of desc.proto.field) {
      add(`${desc.typeName}.${field.name}`, desc.file);
    }
    for (const oneof of desc.proto.oneofDecl) {
      add(`${desc.typeName}.${oneof.name}`, desc.file);
    }
    // Map entry messages are no DescMessage in protobuf-es; index them from the proto.
    for (const nested of desc.proto.nestedType) {
      if (nested.options?.mapEntry === true) {
        const entryName = `${desc.typeName}.${nested.name}`;
        add(entryName, desc.file);
        for (const field of nested.field) add(`${entryName}.${field.name}`, desc.file);
      }
    }
    desc.nestedMessages.forEach(addMessage);
    for (const nested of desc.nestedEnums) addEnum(nested, desc.typeName);
    for (const extension of desc.nestedExtensions) addExtension(extension);
  };
  for (const file of registry.files) {
    for (const service of file.services) {
      add(service.typeName, file);
      for (const method of service.methods) {
        add(`${service.typeName}.${method.name}`, file);
      }
    }
    file.messages.forEach(addMessage);
    for (const desc of file.enums) addEnum(desc, file.proto.package);
    for (const extension of file.extensions) addExtension(extension);
  }
  return symbols;
}

/** Maps every extended message's name to the numbers of its known extensions. */
function indexExtensionNumbers(registry: FileRegistry): Map<string, number[]> {
  const numbers = new Map<string, number[]>();
  for (const desc of registry) {
    if (desc.kind === "extension") {
      const list = numbers.get(desc.extendee.typeName) ?? [];
      if (!list.includes(desc.number)) {
        list.push(desc.number);
      }
      numbers.set(desc.extendee.typeName, list);
    }
  }
  return numbers;
}
