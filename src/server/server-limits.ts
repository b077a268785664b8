/** Limits on what one client connection can make the server hold; every field comes from Config. */
export interface ServerLimits {
  /** Most open connections; more are refused at once. */
  readonly maxConnections: number;
  /** Time a new connection gets to send its first request's headers. */
  readonly headersTimeoutMs: number;
  /** Time a request gets to send its whole body. */
  readonly requestBodyTimeoutMs: number;
  /** Time a connection with nothing in flight stays open. */
  readonly idleTimeoutMs: number;
  /** Most concurrent streams on one HTTP/2 connection. */
  readonly http2MaxConcurrentStreams: number;
  /** Time an HTTP/2 client that reset streams gets to answer a PING. */
  readonly http2PingTimeoutMs: number;
}

/** Why a connection was turned away: MAX_CONNECTIONS, or accept() failing (EMFILE: out of file descriptors). */
export type RefusalReason = "limit" | "accept_error";

/** Which deadline closed a connection or a stream. */
export type TimeoutKind = "headers" | "body" | "idle" | "ping";

/** What the server tells its owner about connections, for metrics and logs. */
export interface ServerEvents {
  /** A connection was accepted and is being served. */
  connectionOpened(): void;
  /** A served connection closed. */
  connectionClosed(): void;
  /** A connection was turned away. */
  connectionRefused(reason: RefusalReason): void;
  /** A connection (or an HTTP/2 stream, for `body`) was closed by a deadline. */
  timedOut(kind: TimeoutKind): void;
}

/** Events that go nowhere, for servers nobody observes. */
export const NO_SERVER_EVENTS: ServerEvents = {
  connectionOpened() {},
  connectionClosed() {},
  connectionRefused() {},
  timedOut() {},
};

/** Starts a timer that does not keep the process alive. */
export function deadline(ms: number, onExpiry: () => void): NodeJS.Timeout {
  return setTimeout(onExpiry, ms).unref();
}
