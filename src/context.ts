import { loadOrCreateApiKey } from "./api-key-file.js";
import type { ClaimsPolicy } from "./claims/claims-policy.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { type Database, type DatabaseOptions, openDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { shareListen } from "./db/shared-listen.js";
import { readEventHorizon } from "./events/event.repository.js";
import { createEventFeed, type EventFeed } from "./events/event-feed.js";
import { createKeyStore, type KeyStore, retiredKeyLifetimeMs } from "./keys/key-store.js";
import { createLogger, type Logger } from "./logger.js";
import { instrumentSessions } from "./metrics/instrument-sessions.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { createDatabaseHealth, type DatabaseHealth } from "./ops/database-health.js";
import { createWatchLimits, type WatchLimits } from "./ops/watch-limits.js";
import { createRbacPolicies, type RbacPolicies } from "./rbac/rbac-policies.js";
import { createRequestObserver, type RequestObserver } from "./rpc/request-observer.js";
import { createSessions, type Sessions } from "./sessions/session.service.js";
import { MAX_CREDENTIAL_LENGTH } from "./sessions/session-input.js";
import { createSessionSweeper, type SessionSweeper } from "./sessions/session-sweeper.js";
import { type ClaimTemplates, createClaimTemplates } from "./templates/claim-templates.js";
import { jwtLengthCheck } from "./tokens/jwt-length.js";
import { createSessionJwts, type SessionJwts } from "./tokens/session-jwt.js";
import { createUsers, type Users } from "./users/user.service.js";
import { createWebhookDispatcher, type WebhookDispatcher } from "./webhooks/webhook-dispatcher.js";
import { createWebhookEndpoints, type WebhookEndpoints } from "./webhooks/webhook-endpoints.js";
import { createWebhookMetrics } from "./webhooks/webhook-metrics.js";

/** Parts of the context a test (or an embedding program) may replace. */
export interface ContextOverrides {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly database?: Database;
  /** What /metrics serves, given this app's registry (a cluster worker serves every worker's); default the registry's text. */
  readonly metricsText?: (registry: Metrics["registry"]) => () => Promise<string>;
}

/** Every dependency of the service, built once and handed down to routes and background work. */
export interface AppContext {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyStore;
  readonly jwts: SessionJwts;
  readonly sessions: Sessions;
  /** User records whose metadata and roles feed the claim template. */
  readonly users: Users;
  /** The project's custom claim template. */
  readonly templates: ClaimTemplates;
  /** The project's RBAC policy, which authorization checks decide by. */
  readonly rbac: RbacPolicies;
  /** Deletes expired and long-revoked sessions; its timer runs from listen() to close(). */
  readonly sweeper: SessionSweeper;
  /** Whether the database answers, shared by health checks, watches and /readyz. */
  readonly health: DatabaseHealth;
  /** Caps on health Watch streams (per connection and in total): they are public. */
  readonly watches: WatchLimits;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Prometheus metrics, in a registry of this app's own. */
  readonly metrics: Metrics;
  /** The text /metrics serves: this app's registry, or with WORKERS > 1 every worker's, aggregated. */
  readonly metricsText: () => Promise<string>;
  /** Request ids, log lines and metrics for every API surface. */
  readonly observer: RequestObserver;
  /** The API keys callers may present (configured, or the generated one). */
  readonly apiKeys: readonly string[];
  /** The change feed (ListEvents, WatchEvents); listens from listen() to close(). */
  readonly events: EventFeed;
  /** Registered webhook endpoints (WebhookService). */
  readonly webhooks: WebhookEndpoints;
  /** Delivers events to webhook endpoints; runs from listen() to close(). */
  readonly webhookDispatcher: WebhookDispatcher;
}

/** How often a watched health status re-checks the database. */
const HEALTH_POLL_INTERVAL_MS = 1_000;

/** The database options a config asks for; command-line tools pass a pool of their own size. */
export function databaseOptions(config: Config, poolSize = config.databasePoolSize): DatabaseOptions {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize,
    poolWaitMs: config.databasePoolWaitSeconds * 1_000,
  };
}

/** The signing keys on an open database, as configured; `init()` is left to the caller. */
export function keyStoreFor(config: Config, database: Database, clock: Clock): KeyStore {
  return createKeyStore(database.db, {
    algorithm: config.jwtAlgorithm,
    // A retired key stays published for one JWT lifetime plus an hour of grace.
    retiredKeyLifetimeMs: retiredKeyLifetimeMs(config.jwtTtlSeconds),
    clock,
    minRotationIntervalMs: config.keyRotationMinIntervalSeconds * 1_000,
    maxPublishedKeys: config.maxPublishedSigningKeys,
  });
}

/** The claims limits and reserved namespace a config asks for. */
export function claimsPolicyOf(config: Config): ClaimsPolicy {
  return { namespace: config.claimsNamespace, maxBytes: config.claimsMaxBytes, maxDepth: config.claimsMaxDepth };
}

/** The session JWT signer and verifier a config asks for, over `keys`. */
export function sessionJwtsFor(config: Config, keys: KeyStore, clock: Clock): SessionJwts {
  return createSessionJwts({
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.jwtTtlSeconds,
    namespace: config.claimsNamespace,
    keys,
    clock,
    profile: config.jwtProfile,
  });
}

/** The claim template and RBAC policy services a config asks for, over an open database (for the app and the CLIs). */
export function claimSourcesFor(
  config: Config,
  database: Database,
  jwts: SessionJwts,
  clock: Clock,
): { templates: ClaimTemplates; rbac: RbacPolicies } {
  const templates = createClaimTemplates({
    db: database.db,
    clock,
    claimsPolicy: claimsPolicyOf(config),
    // Every JWT minted must be accepted back where a credential is read.
    checkJwt: jwtLengthCheck(jwts, MAX_CREDENTIAL_LENGTH),
    defaultRole: config.rbacDefaultRole,
  });
  const rbac = createRbacPolicies({ db: database.db, clock, maxBytes: config.rbacPolicyMaxBytes, templates });
  return { templates, rbac };
}

/** Opens the database, migrates, loads the signing keys and builds every part of the service. */
export async function createContext(config: Config, overrides: ContextOverrides = {}): Promise<AppContext> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const apiKeys = resolveApiKeys(config, logger);
  const database = overrides.database ?? (await openDatabase(databaseOptions(config)));
  try {
    await migrateToLatest(database.db as never);
    const keys = keyStoreFor(config, database, clock);
    await keys.init();
    const claimsPolicy = claimsPolicyOf(config);
    const jwts = sessionJwtsFor(config, keys, clock);
    const metrics = createMetrics(() => database.poolStats());
    const checkJwt = jwtLengthCheck(jwts, MAX_CREDENTIAL_LENGTH);
    const { templates, rbac } = claimSourcesFor(config, database, jwts, clock);
    const sessions = instrumentSessions(
      createSessions({
        db: database.db,
        jwts,
        clock,
        claimsPolicy,
        templates,
        maxSessionsPerUser: config.maxSessionsPerUser,
        // Every JWT minted must be accepted back where a credential is read.
        maxJwtLength: MAX_CREDENTIAL_LENGTH,
        defaultRole: config.rbacDefaultRole,
        jwtTtlSeconds: config.jwtTtlSeconds,
        patchBatchMax: config.patchBatchMax,
        patchQueueMax: config.patchQueueMax,
        touchIntervalSeconds: config.sessionTouchIntervalSeconds,
      }),
      metrics,
    );
    const users = createUsers({
      db: database.db,
      clock,
      claimsPolicy,
      templates,
      metadataMaxBytes: config.userMetadataMaxBytes,
      checkJwt,
      defaultRole: config.rbacDefaultRole,
      jwtTtlSeconds: config.jwtTtlSeconds,
    });
    const health = createDatabaseHealth({
      db: database.db,
      pollIntervalMs: HEALTH_POLL_INTERVAL_MS,
      cacheMs: config.healthCacheMs,
    });
    const watches = createWatchLimits({
      what: "health watches",
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
      eventRetentionMs: config.eventRetentionSeconds * 1_000,
    });
    // The event feed and the webhook dispatcher share one LISTEN connection.
    const listen = shareListen(database.listen);
    const events = createEventFeed({
      db: database.db,
      listen,
      logger,
      pollIntervalMs: config.eventsPollIntervalMs,
      heartbeatMs: config.eventsHeartbeatMs,
      batchSize: config.eventsMaxPageSize,
      watches: createWatchLimits({
        what: "event watches",
        perConnection: config.eventsWatchesPerConnection,
        total: config.eventsMaxWatches,
      }),
    });
    const webhookDispatcher = createWebhookDispatcher({
      db: database.db,
      listen,
      logger,
      metrics: createWebhookMetrics(metrics.registry),
      readHorizon: readEventHorizon,
      timeoutMs: config.webhookTimeoutMs,
      backoff: { baseMs: config.webhookRetryBaseMs, maxMs: config.webhookRetryMaxMs },
      pollIntervalMs: config.webhookPollIntervalMs,
      // Small batches: each step re-reads the endpoint, so a change applies within a few POSTs.
      batchSize: Math.min(config.eventsMaxPageSize, 20),
      maxConcurrency: config.webhookMaxConcurrency,
      leaseMs: config.webhookLeaseMs,
    });
    const webhooks = createWebhookEndpoints({
      db: database.db,
      clock,
      logger,
      maxEndpoints: config.webhookMaxEndpoints,
      readHorizon: readEventHorizon,
      onChange: () => webhookDispatcher.poke(),
    });
    const observer = createRequestObserver(logger, [metrics.observeRpc]);
    return {
      config,
      database,
      keys,
      jwts,
      sessions,
      users,
      templates,
      rbac,
      sweeper,
      health,
      watches,
      logger,
      clock,
      metrics,
      metricsText: overrides.metricsText?.(metrics.registry) ?? (() => metrics.registry.metrics()),
      observer,
      apiKeys,
      events,
      webhooks,
      webhookDispatcher,
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
