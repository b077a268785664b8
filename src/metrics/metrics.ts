import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PoolStats } from "../db/database.js";
import type { RpcObserver } from "../rpc/request-observer.js";

/** The app's Prometheus metrics, in a registry of its own (several apps can share a process). */
export interface Metrics {
  readonly registry: Registry;
  /** Feeds RPC count and latency by method and code; hand it to the logging interceptor. */
  readonly observeRpc: RpcObserver;
  /** Counts a claims patch (or initial claims) rejected, by ErrorDetail reason. */
  claimsRejected(reason: string): void;
  /** Counts a created session. */
  sessionCreated(): void;
  /** Counts a call served by the lean gRPC unary path (src/server/lean-grpc-unary.ts). */
  leanCall(): void;
  /** Counts a revoked session. */
  sessionRevoked(): void;
  /** Tracks open client connections. */
  connectionOpened(): void;
  connectionClosed(): void;
  /** Counts a connection turned away, by why (`limit`, `accept_error`). */
  connectionRefused(reason: string): void;
  /** Counts a connection or stream closed by a deadline, by which one. */
  connectionTimedOut(kind: string): void;
}

/** Creates the metrics; `poolStats` is read at each scrape. */
export function createMetrics(poolStats: () => PoolStats): Metrics {
  const registry = new Registry();
  const rpcs = new Counter({
    name: "tessera_rpc_requests_total",
    help: "Finished RPCs by method and gRPC code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const rpcSeconds = new Histogram({
    name: "tessera_rpc_duration_seconds",
    help: "RPC latency in seconds by method and gRPC code.",
    labelNames: ["method", "code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const claimsRejected = new Counter({
    name: "tessera_claims_patches_rejected_total",
    help: "Custom claims (patches or initial claims) rejected, by reason.",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const created = new Counter({
    name: "tessera_sessions_created_total",
    help: "Sessions created.",
    registers: [registry],
  });
  const lean = new Counter({
    name: "tessera_rpc_lean_calls_total",
    help: "RPCs served by the lean gRPC unary path (the rest go through Connect's handler).",
    registers: [registry],
  });
  const revoked = new Counter({
    name: "tessera_sessions_revoked_total",
    help: "Sessions revoked.",
    registers: [registry],
  });
  new Gauge({
    name: "tessera_db_pool_connections",
    help: "Database pool connections by state (in_use, idle); PGlite reports one connection.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const stats = poolStats();
      this.set({ state: "in_use" }, Math.max(0, stats.total - stats.idle));
      this.set({ state: "idle" }, stats.idle);
    },
  });
  new Gauge({
    name: "tessera_db_pool_waiting",
    help: "Queries waiting for a database pool connection.",
    registers: [registry],
    collect() {
      this.set(poolStats().waiting);
    },
  });
  const connectionsOpen = new Gauge({
    name: "tessera_connections_open",
    help: "Open client connections.",
    registers: [registry],
  });
  const connectionsRefused = new Counter({
    name: "tessera_connections_refused_total",
    help: "Connections turned away: limit (MAX_CONNECTIONS were open) or accept_error (accept() failed, e.g. EMFILE).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const connectionTimeouts = new Counter({
    name: "tessera_connection_timeouts_total",
    help: "Connections (or HTTP/2 streams, for body) closed by a deadline: headers, body, idle or ping.",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  // The labelled children per method and code, found once: observing then skips prom-client's label hashing.
  const children = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  return {
    registry,
    observeRpc(method, code, seconds) {
      const key = `${method} ${code}`;
      let child = children.get(key);
      if (child === undefined) {
        child = { count: rpcs.labels({ method, code }), latency: rpcSeconds.labels({ method, code }) };
        children.set(key, child);
      }
      child.count.inc();
      child.latency.observe(seconds);
    },
    claimsRejected: (reason) => claimsRejected.inc({ reason }),
    sessionCreated: () => created.inc(),
    leanCall: () => lean.inc(),
    sessionRevoked: () => revoked.inc(),
    connectionOpened: () => connectionsOpen.inc(),
    connectionClosed: () => connectionsOpen.dec(),
    connectionRefused: (reason) => connectionsRefused.inc({ reason }),
    connectionTimedOut: (kind) => connectionTimeouts.inc({ kind }),
  };
}
