/**
 * gRPC server reflection for connect-node, so that `buf curl`, grpcurl and
 * Postman can discover the API without local schemas.
 */
import { create, createFileRegistry, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createReflectionServices } from "./reflection-service.js";

export {
  createReflectionResponder,
  createReflectionServices,
  type ReflectionResponder,
  type ReflectionServices,
} from "./reflection-service.js";

/** Registers grpc.reflection v1 and v1alpha on a router for the given service and file descriptors. */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const reflectionFiles = [file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection];
  const registry = createReflectionRegistry([...files, ...reflectionFiles]);
  const serviceNames = [...files, ...reflectionFiles].flatMap((file) =>
    file.services.map((service) => service.typeName),
  );
  const services = createReflectionServices(registry, serviceNames);
  router.service(ServerReflectionV1, services.v1);
  router.service(ServerReflectionV1alpha, services.v1alpha);
}

/** Creates a file registry holding the given files and all their transitive dependencies. */
export function createReflectionRegistry(files: readonly DescFile[]): FileRegistry {
  // Dependencies first, so that every file's imports are known when it is added.
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (file: DescFile): void => {
    if (seen.has(file.proto.name)) {
      return;
    }
    seen.add(file.proto.name);
    file.dependencies.forEach(visit);
    ordered.push(file);
  };
  files.forEach(visit);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered.map((file) => file.proto) }));
}
