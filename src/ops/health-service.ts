import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { TesseraError } from "../errors.js";
import { kConnection } from "../server/connect-node-handler.js";
import type { DatabaseHealth } from "./database-health.js";
import type { WatchLimits } from "./watch-limits.js";

/** Check asked about a service this server does not serve (gRPC health: NOT_FOUND). */
export class UnknownHealthServiceError extends TesseraError {
  constructor(service: string) {
    super("not_found", "SERVICE_NOT_FOUND", `no health status for service "${service}"`, { service });
  }
}

/** What the health service needs from the app. */
export interface HealthDeps {
  readonly health: DatabaseHealth;
  /** Caps open Watch calls per connection and in total. */
  readonly watches: WatchLimits;
  /** Fully-qualified names of the served services. */
  readonly services: readonly string[];
}

/**
 * Registers grpc.health.v1.Health. Every service needs the database, so each
 * one (and "", the server as a whole) is SERVING exactly while it answers.
 */
export function registerHealthService(router: ConnectRouter, deps: HealthDeps): void {
  const { health, watches } = deps;
  const known = new Set(["", ...deps.services, Health.typeName]);
  const statusOf = (up: boolean) => (up ? Status.SERVING : Status.NOT_SERVING);

  async function* watchStatus(
    req: HealthCheckRequest,
    context: HandlerContext,
    release: () => void,
  ): AsyncGenerator<{ status: Status }> {
    try {
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
    } finally {
      release();
    }
  }

  router.service(Health, {
    async check(req) {
      if (!known.has(req.service)) throw new UnknownHealthServiceError(req.service);
      return { status: statusOf(await health.serving()) };
    },
    async list() {
      const status = statusOf(await health.serving());
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
    // Not a generator itself: a refusal thrown here, before the stream starts,
    // passes through the interceptors like any error and reaches the client with its reason.
    watch(req, context) {
      const release = watches.acquire(context.values.get(kConnection));
      if (context.signal.aborted) release();
      else context.signal.addEventListener("abort", release, { once: true });
      return watchStatus(req, context, release);
    },
  });
}
