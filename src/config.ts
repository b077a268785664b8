/**
 * Configuration: the only module that reads the environment. The raw
 * environment is parsed once into a typed, frozen `Config`; every problem is
 * collected so startup can list them all at once.
 */

/** Signature algorithms a session JWT can be signed with. */
export type JwtAlgorithm = "ES256" | "EdDSA" | "RS256";

/** How session JWTs look: Tessera's own claims, or Stytch's (iss, aud and session claim as Stytch mints them). */
export type JwtProfile = "tessera" | "stytch";

/** The parsed, validated service configuration. */
export interface Config {
  /** TCP port for gRPC, gRPC-Web and Connect (0 picks a free port). */
  readonly port: number;
  /** Address to bind. */
  readonly host: string;
  /** PostgreSQL connection string; unset means embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /** Maximum PostgreSQL pool size. */
  readonly databasePoolSize: number;
  /** Longest wait, in seconds, for a PostgreSQL pool connection before a call fails UNAVAILABLE. */
  readonly databasePoolWaitSeconds: number;
  /** Directory of the embedded database and the generated API key. */
  readonly dataDir: string;
  /** API keys accepted as `authorization: Bearer <key>`. */
  readonly apiKeys: readonly string[];
  /** `iss` of minted session JWTs. */
  readonly jwtIssuer: string;
  /** `aud` of minted session JWTs. */
  readonly jwtAudience: string;
  /** Algorithm of new signing keys. */
  readonly jwtAlgorithm: JwtAlgorithm;
  /** Lifetime of a session JWT in seconds (capped by the session's expiry). */
  readonly jwtTtlSeconds: number;
  /** Claim namespace: reserved for the service, holds `<namespace>session`. */
  readonly claimsNamespace: string;
  /** Limit of the compact JSON of a session's custom claims, in UTF-8 bytes. */
  readonly claimsMaxBytes: number;
  /** Deepest nesting of objects and arrays in custom claims (top level is 1). */
  readonly claimsMaxDepth: number;
  /** Largest accepted request message, in bytes. */
  readonly maxRequestBytes: number;
  /** pino log level. */
  readonly logLevel: string;
  /** Seconds between reloads of signing keys from the database (picks up rotations by other replicas). */
  readonly keyReloadSeconds: number;
  /** Seconds in-flight calls get to finish on shutdown before their connections are cut. */
  readonly shutdownTimeoutSeconds: number;
  /** Shape of minted session JWTs; `stytch` fixes issuer, audience and namespace from the project id. */
  readonly jwtProfile: JwtProfile;
  /** Project id of the Stytch-compatible REST surface (HTTP Basic user name); unset turns that surface off. */
  readonly stytchProjectId: string | undefined;
  /** Seconds between sweeps of expired and long-revoked sessions; 0 disables the sweeper. */
  readonly sweepIntervalSeconds: number;
  /** Most sessions one sweep statement deletes. */
  readonly sweepBatchSize: number;
  /** Seconds a revoked session is kept before the sweeper deletes it. */
  readonly sweepRetentionSeconds: number;
  /** Most active sessions one user may have; creating one more is refused. */
  readonly maxSessionsPerUser: number;
  /** ListSessions page size when the request sets none. */
  readonly listSessionsDefaultPageSize: number;
  /** Largest ListSessions page; larger requested sizes are lowered to it. */
  readonly listSessionsMaxPageSize: number;
  /** Budget of one encoded ListSessionsResponse in bytes; a page ends early rather than exceed it. */
  readonly listSessionsMaxResponseBytes: number;
  /** Seconds that must pass after the newest signing key was made before another rotation. */
  readonly keyRotationMinIntervalSeconds: number;
  /** Most signing keys published at once (the active one and retired ones still verifying). */
  readonly maxPublishedSigningKeys: number;
  /** Limit of each user metadata object's compact JSON, in UTF-8 bytes. */
  readonly userMetadataMaxBytes: number;
  /** Most open client connections; more are refused at once. */
  readonly maxConnections: number;
  /** Milliseconds a new connection gets to send its first request's headers. */
  readonly headersTimeoutMs: number;
  /** Milliseconds a request gets to send its whole body. */
  readonly requestBodyTimeoutMs: number;
  /**
   * Milliseconds a refused HTTP/1.1 call (no valid API key) waits for a small body already on its way
   * (at most 64 KiB declared), so the answer can keep the connection; 0, a larger, chunked or slower body: it closes.
   */
  readonly refusedBodyGraceMs: number;
  /** Milliseconds a connection with no request in flight (HTTP/1.1 keep-alive, HTTP/2 with no open stream) stays open. */
  readonly idleTimeoutMs: number;
  /** Most concurrent streams on one HTTP/2 connection (the SETTINGS value sent to clients). */
  readonly http2MaxConcurrentStreams: number;
  /** Milliseconds an HTTP/2 client that reset streams gets to answer a PING before its connection is closed. */
  readonly http2PingTimeoutMs: number;
  /** Most open health Watch calls on one connection. */
  readonly healthWatchesPerConnection: number;
  /** Most open health Watch calls on the whole server. */
  readonly healthMaxWatches: number;
  /** Milliseconds a database probe result is reused by health Check, List and /readyz. */
  readonly healthCacheMs: number;
  /** The role every session holds (Stytch's `stytch_user`); undefined for none. */
  readonly rbacDefaultRole: string | undefined;
  /** Limit of the RBAC policy's compact JSON, in UTF-8 bytes. */
  readonly rbacPolicyMaxBytes: number;
  /** Seconds change events are kept; at least JWT_TTL_SECONDS + 3600, so a deny-list can be rebuilt from them. */
  readonly eventRetentionSeconds: number;
  /** ListEvents page size when the request sets none. */
  readonly eventsDefaultPageSize: number;
  /** Largest ListEvents page (and WatchEvents batch); larger requested sizes are lowered to it. */
  readonly eventsMaxPageSize: number;
  /** Longest wait, in milliseconds, between outbox reads of a watch when no NOTIFY arrives. */
  readonly eventsPollIntervalMs: number;
  /** Milliseconds of quiet after which a watch sends a heartbeat. */
  readonly eventsHeartbeatMs: number;
  /** Most open WatchEvents calls on this server. */
  readonly eventsMaxWatches: number;
  /** Most open WatchEvents calls on one connection. */
  readonly eventsWatchesPerConnection: number;
  /** Processes serving the port (node:cluster); above 1 needs DATABASE_URL. */
  readonly workers: number;
  /** Most claims writes of one session (arriving while one is in flight) applied with one statement. */
  readonly patchBatchMax: number;
  /** Most claims writes of one session waiting for its write in flight (per process); more are refused. */
  readonly patchQueueMax: number;
  /** An authenticate without a patch or extension writes last_accessed_at at most once per this many seconds (0: always). */
  readonly sessionTouchIntervalSeconds: number;
  /** Most registered webhook endpoints; creating one more is refused. */
  readonly webhookMaxEndpoints: number;
  /** Milliseconds a webhook POST gets to answer before it counts as failed ("timeout"). */
  readonly webhookTimeoutMs: number;
  /** First webhook retry delay in milliseconds (doubled per failure, with full jitter). */
  readonly webhookRetryBaseMs: number;
  /** Longest webhook retry delay in milliseconds. */
  readonly webhookRetryMaxMs: number;
  /** Longest wait, in milliseconds, between a webhook endpoint's outbox reads when no NOTIFY arrives. */
  readonly webhookPollIntervalMs: number;
  /** Most webhook POSTs in flight at once in this process (per worker). */
  readonly webhookMaxConcurrency: number;
  /** Milliseconds a replica's lease on an endpoint lasts unless renewed (renewed every third of it). */
  readonly webhookLeaseMs: number;
}

/** Startup configuration is invalid; `problems` lists every issue found. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ["ES256", "EdDSA", "RS256"];
const JWT_PROFILES: readonly JwtProfile[] = ["tessera", "stytch"];
const STYTCH_PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A role id, as the RBAC policy accepts it (src/rbac/validate-rbac-policy.ts). */
const ROLE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** How much longer than JWT_TTL_SECONDS change events must be kept at least. */
export const EVENT_RETENTION_MARGIN_SECONDS = 3_600;

/** Shortest API key accepted anywhere: configured, read from the key file, or built into a check. */
export const MIN_API_KEY_LENGTH = 16;

/** Parses the environment (or any string map) into a frozen Config, or throws ConfigError listing every problem. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      problems.push(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };

  const databaseUrl = read("DATABASE_URL");
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push("DATABASE_URL must start with postgres:// or postgresql://");
  }
  const apiKeys = (read("API_KEYS") ?? "")
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key !== "");
  for (const [index, key] of apiKeys.entries()) {
    if (key.length < MIN_API_KEY_LENGTH) {
      problems.push(`API_KEYS entry ${index + 1} is shorter than ${MIN_API_KEY_LENGTH} characters`);
    }
  }
  const jwtProfile = oneOf("JWT_PROFILE", JWT_PROFILES, "tessera");
  const stytchProjectId = read("STYTCH_PROJECT_ID");
  if (stytchProjectId !== undefined && !STYTCH_PROJECT_ID.test(stytchProjectId)) {
    problems.push("STYTCH_PROJECT_ID must be 1 to 128 letters, digits, '.', '_' or '-'");
  }
  const stytch = jwtProfile === "stytch";
  if (stytch && stytchProjectId === undefined) problems.push("STYTCH_PROJECT_ID is required with JWT_PROFILE=stytch");
  for (const name of stytch ? ["JWT_ISSUER", "JWT_AUDIENCE", "CLAIMS_NAMESPACE"] : []) {
    if (read(name) !== undefined) problems.push(`${name} cannot be set with JWT_PROFILE=stytch, which fixes it`);
  }
  const claimsNamespace = stytch ? "https://stytch.com/" : (read("CLAIMS_NAMESPACE") ?? "https://tessera.dev/");
  // Unset: Stytch's `stytch_user` in the Stytch profile, none otherwise; set but empty: none.
  const rawDefaultRole = env.RBAC_DEFAULT_ROLE?.trim();
  const rbacDefaultRole =
    rawDefaultRole === undefined ? (stytch ? "stytch_user" : undefined) : rawDefaultRole || undefined;
  if (rbacDefaultRole !== undefined && !ROLE_ID.test(rbacDefaultRole)) {
    problems.push("RBAC_DEFAULT_ROLE must be 1 to 128 letters, digits, '_', '-', '.' or ':' (or empty for none)");
  }

  const config: Config = {
    port: int("PORT", 8080, 0, 65535),
    host: read("HOST") ?? "0.0.0.0",
    databaseUrl,
    databasePoolSize: int("DATABASE_POOL_SIZE", 10, 1, 1000),
    databasePoolWaitSeconds: int("DATABASE_POOL_WAIT_SECONDS", 10, 1, 600),
    dataDir: read("DATA_DIR") ?? "./.data",
    apiKeys,
    jwtIssuer: stytch ? `stytch.com/${stytchProjectId}` : (read("JWT_ISSUER") ?? "tessera"),
    jwtAudience: stytch ? (stytchProjectId ?? "") : (read("JWT_AUDIENCE") ?? "tessera"),
    // Stytch signs with RS256, so that is the profile's default.
    jwtAlgorithm: oneOf("JWT_ALGORITHM", JWT_ALGORITHMS, stytch ? "RS256" : "ES256"),
    jwtTtlSeconds: int("JWT_TTL_SECONDS", 300, 1, 86_400),
    claimsNamespace,
    claimsMaxBytes: int("CLAIMS_MAX_BYTES", 4096, 2, 1_048_576),
    claimsMaxDepth: int("CLAIMS_MAX_DEPTH", 32, 1, 256),
    maxRequestBytes: int("MAX_REQUEST_BYTES", 65_536, 1024, 16_777_216),
    logLevel: oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
    keyReloadSeconds: int("KEY_RELOAD_SECONDS", 30, 1, 3_600),
    shutdownTimeoutSeconds: int("SHUTDOWN_TIMEOUT_SECONDS", 10, 0, 600),
    jwtProfile,
    stytchProjectId,
    sweepIntervalSeconds: int("SWEEP_INTERVAL_SECONDS", 60, 0, 86_400),
    sweepBatchSize: int("SWEEP_BATCH_SIZE", 1_000, 1, 100_000),
    sweepRetentionSeconds: int("SWEEP_RETENTION_SECONDS", 86_400, 0, 31_622_400),
    maxSessionsPerUser: int("MAX_SESSIONS_PER_USER", 100, 1, 1_000),
    listSessionsDefaultPageSize: int("LIST_SESSIONS_DEFAULT_PAGE_SIZE", 100, 1, 1_000),
    listSessionsMaxPageSize: int("LIST_SESSIONS_MAX_PAGE_SIZE", 100, 1, 1_000),
    listSessionsMaxResponseBytes: int("LIST_SESSIONS_MAX_RESPONSE_BYTES", 1_048_576, 16_384, 16_777_216),
    keyRotationMinIntervalSeconds: int("KEY_ROTATION_MIN_INTERVAL_SECONDS", 60, 0, 86_400),
    maxPublishedSigningKeys: int("MAX_PUBLISHED_SIGNING_KEYS", 10, 2, 1_000),
    userMetadataMaxBytes: int("USER_METADATA_MAX_BYTES", 4096, 2, 1_048_576),
    maxConnections: int("MAX_CONNECTIONS", 10_000, 1, 1_000_000),
    headersTimeoutMs: int("HEADERS_TIMEOUT_MS", 10_000, 10, 600_000),
    requestBodyTimeoutMs: int("REQUEST_BODY_TIMEOUT_MS", 30_000, 10, 3_600_000),
    refusedBodyGraceMs: int("REFUSED_BODY_GRACE_MS", 200, 0, 5_000),
    idleTimeoutMs: int("IDLE_TIMEOUT_MS", 60_000, 10, 3_600_000),
    http2MaxConcurrentStreams: int("HTTP2_MAX_CONCURRENT_STREAMS", 100, 1, 10_000),
    http2PingTimeoutMs: int("HTTP2_PING_TIMEOUT_MS", 10_000, 10, 600_000),
    healthWatchesPerConnection: int("HEALTH_WATCHES_PER_CONNECTION", 10, 1, 10_000),
    healthMaxWatches: int("HEALTH_MAX_WATCHES", 1_000, 1, 1_000_000),
    healthCacheMs: int("HEALTH_CACHE_MS", 1_000, 0, 60_000),
    rbacDefaultRole,
    rbacPolicyMaxBytes: int("RBAC_POLICY_MAX_BYTES", 32_768, 64, 1_048_576),
    eventRetentionSeconds: int("EVENT_RETENTION_SECONDS", 86_400, 1, 31_622_400),
    eventsDefaultPageSize: int("EVENTS_DEFAULT_PAGE_SIZE", 100, 1, 10_000),
    eventsMaxPageSize: int("EVENTS_MAX_PAGE_SIZE", 1_000, 1, 10_000),
    eventsPollIntervalMs: int("EVENTS_POLL_INTERVAL_MS", 1_000, 10, 60_000),
    eventsHeartbeatMs: int("EVENTS_HEARTBEAT_MS", 10_000, 10, 600_000),
    eventsMaxWatches: int("EVENTS_MAX_WATCHES", 100, 1, 100_000),
    eventsWatchesPerConnection: int("EVENTS_WATCHES_PER_CONNECTION", 4, 1, 10_000),
    workers: int("WORKERS", 1, 1, 64),
    patchBatchMax: int("PATCH_BATCH_MAX", 64, 1, 1_000),
    patchQueueMax: int("PATCH_QUEUE_MAX", 1_024, 1, 100_000),
    sessionTouchIntervalSeconds: int("SESSION_TOUCH_INTERVAL_SECONDS", 0, 0, 3_600),
    webhookMaxEndpoints: int("WEBHOOK_MAX_ENDPOINTS", 50, 1, 10_000),
    webhookTimeoutMs: int("WEBHOOK_TIMEOUT_MS", 10_000, 10, 120_000),
    webhookRetryBaseMs: int("WEBHOOK_RETRY_BASE_MS", 1_000, 1, 3_600_000),
    webhookRetryMaxMs: int("WEBHOOK_RETRY_MAX_MS", 3_600_000, 1, 86_400_000),
    webhookPollIntervalMs: int("WEBHOOK_POLL_INTERVAL_MS", 1_000, 10, 60_000),
    webhookMaxConcurrency: int("WEBHOOK_MAX_CONCURRENCY", 16, 1, 1_000),
    webhookLeaseMs: int("WEBHOOK_LEASE_MS", 30_000, 100, 600_000),
  };
  if (config.workers > 1 && config.databaseUrl === undefined) {
    problems.push("WORKERS above 1 needs DATABASE_URL: the embedded database serves one process");
  }
  if (config.listSessionsDefaultPageSize > config.listSessionsMaxPageSize) {
    problems.push("LIST_SESSIONS_DEFAULT_PAGE_SIZE must not be larger than LIST_SESSIONS_MAX_PAGE_SIZE");
  }
  if (config.eventsDefaultPageSize > config.eventsMaxPageSize) {
    problems.push("EVENTS_DEFAULT_PAGE_SIZE must not be larger than EVENTS_MAX_PAGE_SIZE");
  }
  if (config.webhookRetryBaseMs > config.webhookRetryMaxMs) {
    problems.push("WEBHOOK_RETRY_BASE_MS must not be larger than WEBHOOK_RETRY_MAX_MS");
  }
  // A lease must outlast the POST in flight when it is renewed late, or another replica takes the endpoint mid-delivery.
  if (config.webhookLeaseMs <= config.webhookTimeoutMs) {
    problems.push("WEBHOOK_LEASE_MS must be larger than WEBHOOK_TIMEOUT_MS");
  }
  // A verifier that lost its deny-list rebuilds it from the events of the last JWT lifetime (plus key grace).
  if (config.eventRetentionSeconds < config.jwtTtlSeconds + EVENT_RETENTION_MARGIN_SECONDS) {
    problems.push(
      `EVENT_RETENTION_SECONDS must be at least JWT_TTL_SECONDS + ${EVENT_RETENTION_MARGIN_SECONDS} (${config.jwtTtlSeconds + EVENT_RETENTION_MARGIN_SECONDS})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, apiKeys: Object.freeze([...apiKeys]) });
}
