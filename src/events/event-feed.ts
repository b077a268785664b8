import type { Kysely } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import type { Logger } from "../logger.js";
import type { WatchLimits } from "../ops/watch-limits.js";
import type { ChangeEvent, EventPosition, EventType } from "./event.js";
import { readEvents } from "./event.repository.js";
import { createWakeSignal } from "./wake-signal.js";

/** The NOTIFY channel the session_events trigger signals (see the session-events migration). */
export const EVENTS_CHANNEL = "tessera_events";

/** After a NOTIFY, how often and how many times a watch re-reads before falling back to the poll interval. */
const NOTIFIED_RETRY_MS = 50;
const NOTIFIED_RETRIES = 20;

/** A batch of events and the position to continue after. */
export interface EventBatch {
  readonly events: ChangeEvent[];
  /** The last event's position, or the start position when there is none (undefined: the very start). */
  readonly position: EventPosition | undefined;
}

/** Options of createEventFeed, taken from Config. */
export interface EventFeedOptions {
  readonly db: Kysely<DatabaseSchema>;
  /** Subscribes to NOTIFY on a channel (Database.listen); undefined polls only. */
  readonly listen?: (
    channel: string,
    onNotify: () => void,
    onLost?: (err: unknown) => void,
  ) => Promise<() => Promise<void>>;
  readonly logger: Logger;
  /** Longest wait between reads of a watch when no NOTIFY arrives. */
  readonly pollIntervalMs: number;
  /** A watch with nothing to send sends an empty batch this often. */
  readonly heartbeatMs: number;
  /** Most events in one watch batch. */
  readonly batchSize: number;
  /** Bounds open watches per connection and on this server. */
  readonly watches: WatchLimits;
}

/** Reads the outbox for ListEvents and WatchEvents. */
export interface EventFeed {
  /** Up to `limit` events after `after`, in cursor order. */
  list(after: EventPosition | undefined, limit: number, types: readonly EventType[]): Promise<EventBatch>;
  /**
   * Takes a watch slot on `connection` (and the server) or throws TooManyCallsError (TOO_MANY_WATCHES); the
   * iterator then yields batches after `after`, and empty heartbeats, until
   * `signal` aborts or the feed closes, and gives the slot back.
   */
  watch(
    after: EventPosition | undefined,
    types: readonly EventType[],
    signal: AbortSignal,
    connection: object | undefined,
  ): AsyncIterable<EventBatch>;
  /** Open watches. */
  watching(): number;
  /** Starts listening for NOTIFY (watches poll until then, and without it). */
  start(): Promise<void>;
  /** Stops listening and ends every watch. */
  close(): Promise<void>;
}

/** Builds the feed. Wake-ups are only hints: every watch re-reads the outbox, so a lost NOTIFY costs a poll interval. */
export function createEventFeed(options: EventFeedOptions): EventFeed {
  const wakes = createWakeSignal();
  const closed = new AbortController();
  let stopListening: (() => Promise<void>) | undefined;
  const wakeAll = () => wakes.wake();

  async function* run(
    after: EventPosition | undefined,
    types: readonly EventType[],
    signal: AbortSignal,
  ): AsyncGenerator<EventBatch> {
    let position = after;
    let lastSent = Date.now();
    // Quick re-reads left after a NOTIFY found nothing: its event waits behind an older transaction still running.
    let retries = 0;
    while (!signal.aborted) {
      const events = await readEvents(options.db, position, options.batchSize, types);
      const last = events.at(-1);
      if (last !== undefined) {
        // Found: no quick re-reads until the next NOTIFY.
        retries = 0;
        position = last.position;
        lastSent = Date.now();
        yield { events, position };
        continue;
      }
      const quiet = Date.now() - lastSent;
      if (quiet >= options.heartbeatMs) {
        lastSent = Date.now();
        yield { events: [], position };
        continue;
      }
      const wait = retries > 0 ? NOTIFIED_RETRY_MS : options.pollIntervalMs;
      retries = Math.max(0, retries - 1);
      if (await wakes.sleep(Math.min(wait, options.heartbeatMs - quiet), signal)) retries = NOTIFIED_RETRIES;
    }
  }

  return {
    async list(after, limit, types) {
      const events = await readEvents(options.db, after, limit, types);
      return { events, position: events.at(-1)?.position ?? after };
    },

    watch(after, types, callSignal, connection) {
      const release = options.watches.acquire(connection);
      // Given back when the call ends, even if its stream was never read (then its finally never runs).
      callSignal.addEventListener("abort", release, { once: true });
      const signal = AbortSignal.any([callSignal, closed.signal]);
      return (async function* () {
        try {
          yield* run(after, types, signal);
        } finally {
          release();
        }
      })();
    },

    watching: () => options.watches.stats().watches,

    async start() {
      if (options.listen === undefined || stopListening !== undefined || closed.signal.aborted) return;
      try {
        const stop = await options.listen(EVENTS_CHANNEL, wakeAll, (err) => {
          options.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "event LISTEN connection lost; reconnecting (watches poll meanwhile)",
          );
        });
        // Closed while LISTEN was being set up: undo it at once.
        if (closed.signal.aborted) await stop();
        else stopListening = stop;
      } catch (err) {
        options.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          "event LISTEN failed; watches poll",
        );
      }
    },

    async close() {
      closed.abort();
      wakeAll();
      const stop = stopListening;
      stopListening = undefined;
      await stop?.().catch((err: unknown) => {
        options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "event UNLISTEN failed");
      });
    },
  };
}
