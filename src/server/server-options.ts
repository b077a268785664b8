import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { openFileLimit } from "./file-limit.js";
import type { SniffingServerOptions } from "./protocol-sniffing-server.js";
import type { ServerEvents } from "./server-limits.js";

/** Least time between two "connections refused" warnings; the ones between are counted into the next. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** File descriptors kept for everything but client connections: the database pool, PGlite's files, logs. */
const RESERVED_FILES = 256;

/** The listening server's address and limits from the config, its events feeding metrics and the log. */
export function serverOptions(config: Config, metrics: Metrics, logger: Logger): SniffingServerOptions {
  const files = openFileLimit();
  if (files !== undefined && files < config.maxConnections + RESERVED_FILES) {
    // Past the file limit, accept() fails (EMFILE) before MAX_CONNECTIONS can refuse anyone cleanly.
    logger.warn(
      { max_connections: config.maxConnections, open_file_limit: files },
      "MAX_CONNECTIONS is too close to the open file limit (ulimit -n); lower it or raise the limit",
    );
  }
  return {
    port: config.port,
    host: config.host,
    maxConnections: config.maxConnections,
    headersTimeoutMs: config.headersTimeoutMs,
    requestBodyTimeoutMs: config.requestBodyTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    http2MaxConcurrentStreams: config.http2MaxConcurrentStreams,
    http2PingTimeoutMs: config.http2PingTimeoutMs,
    events: serverEvents(config, metrics, logger),
  };
}

function serverEvents(config: Config, metrics: Metrics, logger: Logger): ServerEvents {
  let lastWarning = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return {
    connectionOpened: metrics.connectionOpened,
    connectionClosed: metrics.connectionClosed,
    connectionRefused(reason) {
      metrics.connectionRefused(reason);
      unlogged += 1;
      const now = performance.now();
      if (now - lastWarning < REFUSAL_LOG_INTERVAL_MS) return;
      lastWarning = now;
      logger.warn({ refused: unlogged, reason, max_connections: config.maxConnections }, "connections refused");
      unlogged = 0;
    },
    timedOut: metrics.connectionTimedOut,
  };
}
