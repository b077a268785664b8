import type { ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { TesseraError } from "../errors.js";
import type { DatabaseHealth } from "./database-health.js";

/** Check asked about a service this server does not serve (gRPC health: NOT_FOUND). */
export class UnknownHealthServiceError extends TesseraError {
  constructor(service: string) {
    super("not_found", "SERVICE_NOT_FOUND", `no health status for service "${service}"`, { service });
  }
}

/**
 * Registers grpc.health.v1.Health. Every service needs the database, so each
 * one (and "", the server as a whole) is SERVING exactly while it answers.
 */
export function registerHealthService(
  router: ConnectRouter,
  health: DatabaseHealth,
  services: readonly string[],
): void {
  const known = new Set(["", ...services, Health.typeName]);
  const statusOf = (up: boolean) => (up ? Status.SERVING : Status.NOT_SERVING);
  router.service(Health, {
    async check(req) {
      if (!known.has(req.service)) throw new UnknownHealthServiceError(req.service);
      return { status: statusOf(await health.serving()) };
    },
    async list() {
      const status = statusOf(await health.serving());
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
    async *watch(req, context) {
      if (!known.has(req.service)) {
        // The service set never changes at run time, so the call just stays open.
        yield { status: Status.SERVICE_UNKNOWN };
        const done = AbortSignal.any([context.signal, health.closed]);
        await new Promise<void>((resolve) => {
          if (done.aborted) resolve();
          done.addEventListener("abort", () => resolve(), { once: true });
        });
        return;
      }
      for await (const up of health.watch(context.signal)) yield { status: statusOf(up) };
    },
  });
}
