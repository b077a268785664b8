import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { type Event, EventService, EventType } from "../../../gen/tessera/events/v1/event_service_pb.js";
import { ErrorDetailSchema } from "../../../gen/tessera/sessions/v1/error_detail_pb.js";

/** The event types a verifier follows. */
export const FOLLOWED_TYPES: readonly EventType[] = [
  EventType.SESSION_CLAIMS_CHANGED,
  EventType.SESSION_REVOKED,
  EventType.SESSION_EXPIRED,
  EventType.SIGNING_KEY_ROTATED,
];

/** How the feed follower reaches Tessera and reacts. */
export interface EventFeedOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly protocol: "grpc" | "connect";
  /** First reconnect delay; doubles up to maxBackoffMs, with jitter. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Called with each batch, in cursor order, before its cursor is kept. */
  readonly onEvents: (events: readonly Event[]) => void;
  /** Called on every message, events or heartbeat, and on every history page. */
  readonly onAlive: () => void;
  /** Called when a watch ends with an error (the follower reconnects). */
  readonly onError?: (err: unknown) => void;
  /** Called whenever a watch ended, with an error or cleanly (a server shutting down), before reconnecting. */
  readonly onReconnect?: () => void;
}

/** A running follower of WatchEvents. */
export interface EventFeed {
  /** Reads the history from the start of the feed, then follows it; resolves once the history is read. */
  start(): Promise<void>;
  /** Stops following; resolves once the follower has ended. */
  close(): Promise<void>;
  /** The cursor of the last message applied. */
  readonly cursor: string;
}

/** Follows the feed from `after_cursor` "" with reconnects that resume from the last cursor (no gap, no duplicate). */
export function createEventFeed(options: EventFeedOptions): EventFeed {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport({ baseUrl: options.url, interceptors: [auth] })
      : createConnectTransport({ baseUrl: options.url, httpVersion: "1.1", interceptors: [auth] });
  const client = createClient(EventService, transport);
  const abort = new AbortController();
  let cursor = "";
  let loop: Promise<void> | undefined;

  async function readHistory(): Promise<void> {
    for (;;) {
      const page = await client.listEvents(
        { afterCursor: cursor, limit: 0, types: [...FOLLOWED_TYPES] },
        { signal: abort.signal },
      );
      options.onAlive();
      if (page.events.length === 0) return;
      options.onEvents(page.events);
      cursor = page.cursor;
    }
  }

  async function follow(): Promise<void> {
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const stream = client.watchEvents(
          { afterCursor: cursor, types: [...FOLLOWED_TYPES] },
          { signal: abort.signal },
        );
        for await (const message of stream) {
          failures = 0;
          options.onAlive();
          if (message.events.length > 0) options.onEvents(message.events);
          cursor = message.cursor;
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        options.onError?.(err);
        // Events after the cursor were swept while disconnected: read the whole retained history again. Applying an
        // event twice changes nothing, and what was swept is older than any JWT still unexpired (retention > TTL).
        if (isCursorExpired(err)) cursor = "";
      }
      if (abort.signal.aborted) return;
      options.onReconnect?.();
      failures += 1;
      const ceiling = Math.min(options.maxBackoffMs, options.minBackoffMs * 2 ** Math.min(failures - 1, 20));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2), abort.signal);
    }
  }

  return {
    get cursor() {
      return cursor;
    },
    async start() {
      if (loop !== undefined) return;
      await readHistory();
      loop = follow();
    },
    async close() {
      abort.abort();
      await loop;
    },
  };
}

/** Whether Tessera refused the cursor as older than its event retention (EVENT_CURSOR_EXPIRED). */
export function isCursorExpired(err: unknown): boolean {
  return (
    err instanceof ConnectError &&
    err.code === Code.FailedPrecondition &&
    err.findDetails(ErrorDetailSchema).some((detail) => detail.reason === "EVENT_CURSOR_EXPIRED")
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
