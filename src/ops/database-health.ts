import type { Kysely } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import { pingDatabase } from "./database-probe.js";

/** Whether the database answers, now and as it changes. */
export interface DatabaseHealth {
  /** Whether the database answers: a probe at most `cacheMs` old, shared by every caller. */
  serving(): Promise<boolean>;
  /** Yields the status at once and then on every change, until `signal` aborts or close(). */
  watch(signal: AbortSignal): AsyncGenerator<boolean>;
  /** Ends every watch and stops polling. */
  close(): void;
  /** Aborts on close(), so other long calls can end with the watches. */
  readonly closed: AbortSignal;
}

/** Options of createDatabaseHealth. */
export interface DatabaseHealthOptions {
  readonly db: Kysely<DatabaseSchema>;
  /** Pause between pings while anyone watches. */
  readonly pollIntervalMs: number;
  /** How long a probe's result answers serving() (0: only callers that overlap a probe share it). */
  readonly cacheMs: number;
}

interface Watcher {
  wake?: () => void;
}

/**
 * One shared probe serves every caller: at most one `select 1` is in flight,
 * and its result answers Check, List and /readyz for `cacheMs`, so a flood of
 * probes (they need no API key) costs the database one query per interval.
 * While at least one client watches, the database is pinged once per poll
 * interval, however many watchers there are.
 */
export function createDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  const watchers = new Set<Watcher>();
  let latest: { up: boolean; at: number } | undefined;
  let inFlight: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const closedController = new AbortController();

  const probe = (): Promise<boolean> => {
    inFlight ??= pingDatabase(options.db).then((up) => {
      latest = { up, at: performance.now() };
      inFlight = undefined;
      return up;
    });
    return inFlight;
  };
  const serving = async (): Promise<boolean> => {
    if (latest !== undefined && performance.now() - latest.at < options.cacheMs) return latest.up;
    return probe();
  };
  const wakeAll = () => {
    for (const watcher of watchers) watcher.wake?.();
  };
  // A slow ping is still out on the next tick: the tick shares it, never stacks another.
  const tick = () => void probe().finally(wakeAll);

  return {
    serving,
    closed: closedController.signal,
    async *watch(signal) {
      const watcher: Watcher = {};
      const onAbort = () => watcher.wake?.();
      signal.addEventListener("abort", onAbort, { once: true });
      watchers.add(watcher);
      if (timer === undefined && !closed) {
        timer = setInterval(tick, options.pollIntervalMs);
        timer.unref();
      }
      try {
        let sent: boolean | undefined;
        let current = await serving();
        while (!signal.aborted && !closed) {
          if (current !== sent) {
            sent = current;
            yield current;
          }
          await new Promise<void>((resolve) => {
            watcher.wake = resolve;
          });
          current = latest?.up ?? current;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        watchers.delete(watcher);
        if (watchers.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      }
    },
    close() {
      closed = true;
      closedController.abort();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      wakeAll();
    },
  };
}
