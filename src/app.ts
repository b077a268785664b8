import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_tessera_admin_v1_admin_service } from "../gen/tessera/admin/v1/admin_service_pb.js";
import { file_tessera_sessions_v1_session_service } from "../gen/tessera/sessions/v1/session_service_pb.js";
import { loadOrCreateApiKey } from "./api-key-file.js";
import type { ClaimsPolicy } from "./claims/claims-policy.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { type HttpRequest, type HttpResponse, type HttpRoute, sendJson } from "./http/http-route.js";
import { createKeyStore, type KeyStore, retiredKeyLifetimeMs } from "./keys/key-store.js";
import { createLogger, type Logger } from "./logger.js";
import { instrumentSessions } from "./metrics/instrument-sessions.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { registerAdminService } from "./ops/admin-service.js";
import { createDatabaseHealth, type DatabaseHealth } from "./ops/database-health.js";
import { registerHealthService } from "./ops/health-service.js";
import { startKeyRefresh } from "./ops/key-refresh.js";
import { opsHttpRoutes } from "./ops/ops-http-routes.js";
import { createWatchLimits } from "./ops/watch-limits.js";
import { registerReflection } from "./reflection/index.js";
import { isPublicProcedure, registerSessionService } from "./routes/index.js";
import { apiKeyInterceptor, createApiKeyRule } from "./rpc/api-key.js";
import { describe, errorMapperInterceptor } from "./rpc/error-mapper.js";
import { loggingInterceptor } from "./rpc/logging.js";
import { createConnectNodeHandler } from "./server/connect-node-handler.js";
import { listenSniffing, type SniffingServer, type UniversalHandler } from "./server/protocol-sniffing-server.js";
import { serverOptions } from "./server/server-options.js";
import { createSessionService, type SessionService } from "./sessions/session.service.js";
import { createSessionSweeper, type SessionSweeper } from "./sessions/session-sweeper.js";
import { stytchHttpRoutes } from "./stytch/stytch-routes.js";
import { createSessionJwts, type SessionJwts } from "./tokens/session-jwt.js";

/** Parts of the app a test (or an embedding program) may replace. */
export interface AppOverrides {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly database?: Database;
}

/** Builds the plain HTTP routes served next to Connect; each gets the built app parts. */
export type HttpRouteFactory = (parts: AppParts) => HttpRoute[];

/** The built parts handed to HTTP route factories. */
export interface AppParts {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyStore;
  readonly sessions: SessionService;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Whether the database answers (a shared, briefly cached probe). */
  readonly health: DatabaseHealth;
  /** The API keys callers may present (configured, or the generated one). */
  readonly apiKeys: readonly string[];
}

/** Everything the running service is made of, built once. */
export interface App {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyStore;
  readonly jwts: SessionJwts;
  readonly sessions: SessionService;
  /** Deletes expired and long-revoked sessions; its timer runs from listen() to close(). */
  readonly sweeper: SessionSweeper;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Prometheus metrics, in a registry of this app's own. */
  readonly metrics: Metrics;
  /** Serves Connect, gRPC and gRPC-Web on HTTP/1.1 or HTTP/2 requests. */
  readonly handler: UniversalHandler;
  /** Starts listening on config.port (0 picks one). */
  listen(): Promise<SniffingServer>;
  /** Stops the server (if listening), letting in-flight calls finish, and closes the database. */
  close(): Promise<void>;
}

/** Proto files of the services served, published through reflection. */
const SERVED_FILES = [
  file_tessera_sessions_v1_session_service,
  file_tessera_admin_v1_admin_service,
  file_grpc_health_v1_health,
];
/** Fully-qualified names of the served services (and so of the health statuses). */
const SERVED_SERVICES = SERVED_FILES.flatMap((file) => file.services.map((service) => service.typeName));

/** How often a watched health status re-checks the database. */
const HEALTH_POLL_INTERVAL_MS = 1_000;

/** Plain HTTP routes, tried in order for paths that are not Connect procedures. */
const HTTP_ROUTE_FACTORIES: readonly HttpRouteFactory[] = [opsHttpRoutes, stytchHttpRoutes];

/** Tries each plain route; the first that takes the request wins, else a JSON 404. */
async function routeHttp(routes: readonly HttpRoute[], req: HttpRequest, res: HttpResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  for (const route of routes) {
    if (await route.handle(req, res, url)) return;
  }
  sendJson(res, 404, { error: "not found" });
}

/** The composition root: opens the database, migrates, loads keys and wires every handler. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const apiKeys = resolveApiKeys(config, logger);
  const database =
    overrides.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }));
  try {
    await migrateToLatest(database.db as never);
    const keys = createKeyStore(database.db, {
      algorithm: config.jwtAlgorithm,
      // A retired key stays published for one JWT lifetime plus an hour of grace.
      retiredKeyLifetimeMs: retiredKeyLifetimeMs(config.jwtTtlSeconds),
      clock,
    });
    await keys.init();
    const claimsPolicy: ClaimsPolicy = {
      namespace: config.claimsNamespace,
      maxBytes: config.claimsMaxBytes,
      maxDepth: config.claimsMaxDepth,
    };
    const jwts = createSessionJwts({
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.jwtTtlSeconds,
      namespace: config.claimsNamespace,
      keys,
      clock,
      profile: config.jwtProfile,
    });
    const metrics = createMetrics(() => database.poolStats());
    const sessions = instrumentSessions(createSessionService({ db: database.db, jwts, clock, claimsPolicy }), metrics);
    const health = createDatabaseHealth({
      db: database.db,
      pollIntervalMs: HEALTH_POLL_INTERVAL_MS,
      cacheMs: config.healthCacheMs,
    });
    const watches = createWatchLimits({
      perConnection: config.healthWatchesPerConnection,
      total: config.healthMaxWatches,
    });
    const sweeper = createSessionSweeper({
      db: database.db,
      clock,
      logger,
      intervalMs: config.sweepIntervalSeconds * 1_000,
      batchSize: config.sweepBatchSize,
      retentionMs: config.sweepRetentionSeconds * 1_000,
    });

    const apiKeyRule = createApiKeyRule(apiKeys, isPublicProcedure);
    const interceptors: Interceptor[] = [
      loggingInterceptor(logger, [metrics.observeRpc]),
      errorMapperInterceptor(logger),
      apiKeyInterceptor(apiKeyRule),
    ];
    const connectHandler = createConnectNodeHandler({
      routes: (router: ConnectRouter) => {
        registerSessionService(router, { sessions, keys });
        registerAdminService(router, { keys, logger });
        registerHealthService(router, { health, watches, services: SERVED_SERVICES });
        registerReflection(router, SERVED_FILES);
      },
      interceptors,
      readMaxBytes: config.maxRequestBytes,
      refusedByHeaders: (procedure, header) => apiKeyRule(procedure, header.get("authorization")) !== undefined,
      onError: (procedure, err) => logger.warn({ procedure, err: describe(err) }, "rpc response not delivered"),
    });
    const parts: AppParts = { config, database, keys, sessions, logger, clock, metrics, health, apiKeys };
    const httpRoutes: HttpRoute[] = HTTP_ROUTE_FACTORIES.flatMap((factory) => factory(parts));
    // Connect first: an exact path lookup, so RPCs pay nothing for the plain routes.
    const handler: UniversalHandler = (req, res) => {
      if (connectHandler(req, res)) return;
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
      config,
      database,
      keys,
      jwts,
      sessions,
      sweeper,
      logger,
      clock,
      metrics,
      handler,
      async listen() {
        server = await listenSniffing(handler, serverOptions(config, metrics, logger));
        logger.info({ port: server.port, database: database.kind }, "listening");
        sweeper.start();
        stopKeyRefresh ??= startKeyRefresh(keys, config.keyReloadSeconds * 1_000, logger);
        return server;
      },
      close() {
        closing ??= (async () => {
          try {
            stopKeyRefresh?.();
            // Health watches never finish on their own; end them so they do not hold the shutdown.
            health.close();
            // Stop accepting at once; background work stops while in-flight calls finish.
            await Promise.all([server?.close(config.shutdownTimeoutSeconds * 1_000), sweeper.stop()]);
          } finally {
            await database.close();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/** Configured API keys, or with the embedded database and none configured, the generated one. Never open. */
function resolveApiKeys(config: Config, logger: Logger): readonly string[] {
  if (config.apiKeys.length > 0) return config.apiKeys;
  if (config.databaseUrl !== undefined) {
    throw new Error("API_KEYS is required when DATABASE_URL is set; Tessera never runs without an API key");
  }
  const { key, path, created } = loadOrCreateApiKey(config.dataDir);
  logger.info({ api_key_file: path }, created ? "generated an API key" : "using the API key in the data directory");
  return [key];
}
