import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_tessera_admin_v1_admin_service } from "../gen/tessera/admin/v1/admin_service_pb.js";
import { file_tessera_events_v1_event_service } from "../gen/tessera/events/v1/event_service_pb.js";
import { file_tessera_sessions_v1_session_service } from "../gen/tessera/sessions/v1/session_service_pb.js";
import { file_tessera_users_v1_user_service } from "../gen/tessera/users/v1/user_service_pb.js";
import { file_tessera_webhooks_v1_webhooks } from "../gen/tessera/webhooks/v1/webhooks_pb.js";
import type { Config } from "./config.js";
import { type AppContext, type ContextOverrides, createContext } from "./context.js";
import {
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  isAmbiguousPath,
  parseRequestTarget,
  sendJson,
} from "./http/http-route.js";
import { registerAdminService } from "./ops/admin-service.js";
import { registerHealthService } from "./ops/health-service.js";
import { startKeyRefresh } from "./ops/key-refresh.js";
import { opsHttpRoutes } from "./ops/ops-http-routes.js";
import { registerReflection } from "./reflection/index.js";
import { registerEventService } from "./routes/events/index.js";
import { isPublicProcedure, registerSessionService } from "./routes/index.js";
import { registerUserService } from "./routes/users/index.js";
import { registerWebhookService } from "./routes/webhooks/index.js";
import { apiKeyInterceptor, createApiKeyRule } from "./rpc/api-key.js";
import { describe, errorMapperInterceptor } from "./rpc/error-mapper.js";
import { loggingInterceptor } from "./rpc/logging.js";
import { removeProtoAccessor } from "./rpc/proto-accessor.js";
import { createConnectNodeHandler, kHeadersAccepted } from "./server/connect-node-handler.js";
import { listenSniffing, type NodeRequestHandler, type SniffingServer } from "./server/protocol-sniffing-server.js";
import { serverOptions } from "./server/server-options.js";
import { stytchHttpRoutes } from "./stytch/stytch-routes.js";

/** Parts of the app a test (or an embedding program) may replace. */
export type AppOverrides = ContextOverrides;

/** Builds the plain HTTP routes served next to Connect from the app's context. */
export type HttpRouteFactory = (context: AppContext) => HttpRoute[];

/** Everything the running service is made of, built once. */
export interface App extends AppContext {
  /** Serves Connect, gRPC and gRPC-Web (and the plain HTTP routes) on HTTP/1.1 or HTTP/2 requests. */
  readonly handler: NodeRequestHandler;
  /** Starts listening on config.port (0 picks one). */
  listen(): Promise<SniffingServer>;
  /** Stops the server (if listening), letting in-flight calls finish, and closes the database. */
  close(): Promise<void>;
}

/** Proto files of the services served, published through reflection. */
const SERVED_FILES = [
  file_tessera_sessions_v1_session_service,
  file_tessera_users_v1_user_service,
  file_tessera_admin_v1_admin_service,
  file_tessera_events_v1_event_service,
  file_tessera_webhooks_v1_webhooks,
  file_grpc_health_v1_health,
];
/** Fully-qualified names of the served services (and so of the health statuses). */
const SERVED_SERVICES = SERVED_FILES.flatMap((file) => file.services.map((service) => service.typeName));

/** Plain HTTP routes, tried in order for paths that are not Connect procedures. */
const HTTP_ROUTE_FACTORIES: readonly HttpRouteFactory[] = [opsHttpRoutes, stytchHttpRoutes];

/**
 * Tries each plain route on the path as sent (never a resolved one); the first
 * that takes the request wins, else a JSON 400 for an ambiguous path, or a 404.
 */
async function routeHttp(routes: readonly HttpRoute[], req: HttpRequest, res: HttpResponse): Promise<void> {
  const target = parseRequestTarget(req.url ?? "/");
  if (target === undefined) return sendJson(res, 400, { error: "bad request target" });
  for (const route of routes) {
    if (await route.handle(req, res, target)) return;
  }
  if (isAmbiguousPath(target.pathname)) {
    return sendJson(res, 400, { error: "the path must not hold dot segments or backslashes" });
  }
  sendJson(res, 404, { error: "not found" });
}

/** The composition root: builds the context, then wires every handler onto one port. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  removeProtoAccessor();
  const context = await createContext(config, overrides);
  const { database, health, keys, logger, sessions, sweeper } = context;

  const apiKeyRule = createApiKeyRule(context.apiKeys, isPublicProcedure);
  const interceptors: Interceptor[] = [
    loggingInterceptor(context.observer),
    errorMapperInterceptor(logger),
    apiKeyInterceptor(apiKeyRule, kHeadersAccepted),
  ];
  const connectHandler = createConnectNodeHandler({
    routes: (router: ConnectRouter) => {
      registerSessionService(router, { sessions, keys, config });
      registerUserService(router, { users: context.users });
      registerAdminService(router, { keys, templates: context.templates, rbac: context.rbac, logger });
      registerEventService(router, { events: context.events, config });
      registerWebhookService(router, { webhooks: context.webhooks });
      registerHealthService(router, { health, watches: context.watches, services: SERVED_SERVICES });
      registerReflection(router, SERVED_FILES);
    },
    interceptors,
    readMaxBytes: config.maxRequestBytes,
    onLeanCall: () => context.metrics.leanCall(),
    refusedByHeaders: (procedure, header) => apiKeyRule(procedure, header.get("authorization")) !== undefined,
    refusedBodyGraceMs: config.refusedBodyGraceMs,
    onError: (procedure, err) => logger.warn({ procedure, err: describe(err) }, "rpc response not delivered"),
    observer: context.observer,
  });
  const httpRoutes: HttpRoute[] = HTTP_ROUTE_FACTORIES.flatMap((factory) => factory(context));
  // Connect first: an exact path lookup, so RPCs pay nothing for the plain routes.
  const handler: NodeRequestHandler = (req, res) => {
    if (connectHandler.request(req, res)) return;
    void routeHttp(httpRoutes, req, res).catch((err: unknown) => {
      logger.error({ err: describe(err) }, "http route failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.end();
    });
  };

  let server: SniffingServer | undefined;
  let closing: Promise<void> | undefined;
  let stopKeyRefresh: (() => void) | undefined;
  return {
    ...context,
    handler,
    async listen() {
      server = await listenSniffing(handler, serverOptions(config, context.metrics, logger), connectHandler.stream);
      logger.info({ port: server.port, database: database.kind }, "listening");
      sweeper.start();
      await context.events.start();
      await context.webhookDispatcher.start();
      stopKeyRefresh ??= startKeyRefresh(keys, config.keyReloadSeconds * 1_000, logger);
      return server;
    },
    close() {
      closing ??= (async () => {
        try {
          stopKeyRefresh?.();
          // Health watches never finish on their own; end them so they do not hold the shutdown.
          health.close();
          // Event watches never finish on their own either (their listener stops alongside).
          const eventsClosed = context.events.close();
          // Stop accepting at once; background work stops while in-flight calls finish.
          // Webhook POSTs in flight are cut; their events are redelivered, with the same webhook-id.
          const webhooksStopped = context.webhookDispatcher.stop();
          await Promise.all([
            server?.close(config.shutdownTimeoutSeconds * 1_000),
            sweeper.stop(),
            eventsClosed,
            webhooksStopped,
          ]);
        } finally {
          await database.close();
        }
      })();
      return closing;
    },
  };
}
