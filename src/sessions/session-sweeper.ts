import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { DatabaseSchema } from "../db/schema.js";
import { deleteEventsBefore } from "../events/event.repository.js";
import type { Logger } from "../logger.js";
import { deleteStale } from "./session.repository.js";

/** Options of createSessionSweeper, taken from Config. */
export interface SessionSweeperOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause between sweeps; 0 disables the timer (sweepOnce still works). */
  readonly intervalMs: number;
  /** Most sessions one DELETE removes, so no statement holds many row locks or runs long. */
  readonly batchSize: number;
  /** A revoked session is kept this long after revocation (expired ones go at once). */
  readonly retentionMs: number;
  /** A change event is kept this long; unset keeps them all. */
  readonly eventRetentionMs?: number;
  /** Most batches in one sweep; the rest waits for the next tick. */
  readonly maxBatchesPerSweep?: number;
}

/** What one sweep did. */
export interface SweepResult {
  readonly deleted: number;
  readonly batches: number;
  /** Change events deleted (older than the event retention). */
  readonly eventsDeleted: number;
}

/** Deletes expired and long-revoked sessions, and old change events, in the background. */
export interface SessionSweeper {
  /** Starts the unref'd timer (no-op when the interval is 0 or already started). */
  start(): void;
  /** Stops the timer and waits for a sweep in progress to finish. */
  stop(): Promise<void>;
  /** Runs one sweep now: batches of at most batchSize until none is full or the batch cap is hit. */
  sweepOnce(): Promise<SweepResult>;
}

const DEFAULT_MAX_BATCHES = 100;

/** Builds the sweeper. Safe on several replicas at once: each batch skips rows another one has locked. */
export function createSessionSweeper(options: SessionSweeperOptions): SessionSweeper {
  const maxBatches = options.maxBatchesPerSweep ?? DEFAULT_MAX_BATCHES;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function sweepOnce(): Promise<SweepResult> {
    let deleted = 0;
    let batches = 0;
    while (batches < maxBatches) {
      const now = options.clock();
      const revokedBefore = new Date(now.getTime() - options.retentionMs);
      const count = await deleteStale(options.db, now, revokedBefore, options.batchSize);
      batches += 1;
      deleted += count;
      if (count < options.batchSize || stopped) break;
    }
    let eventsDeleted = 0;
    for (let eventBatches = 0; options.eventRetentionMs !== undefined && eventBatches < maxBatches; eventBatches++) {
      const before = new Date(options.clock().getTime() - options.eventRetentionMs);
      const count = await deleteEventsBefore(options.db, before, options.batchSize);
      eventsDeleted += count;
      if (count < options.batchSize || stopped) break;
    }
    return { deleted, batches, eventsDeleted };
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepOnce()
        .then(
          (result) => {
            if (result.deleted > 0 || result.eventsDeleted > 0) options.logger.info(result, "swept stale sessions");
          },
          (err: unknown) => {
            // A database outage must not stop the sweeper; the next tick retries.
            options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "session sweep failed");
          },
        )
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, options.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (options.intervalMs <= 0 || timer !== undefined || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    sweepOnce,
  };
}
