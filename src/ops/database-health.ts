import type { Kysely } from "kysely";
import type { DatabaseSchema } from "../db/schema.js";
import { pingDatabase } from "./database-probe.js";

/** Whether the database answers, now and as it changes. */
export interface DatabaseHealth {
  /** Pings the database now. */
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
}

interface Watcher {
  wake?: () => void;
}

/**
 * One shared poller serves every watch: while at least one client watches,
 * the database is pinged once per interval, however many watchers there are.
 */
export function createDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  const watchers = new Set<Watcher>();
  let latest: boolean | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pinging = false;
  let closed = false;
  const closedController = new AbortController();

  const serving = async (): Promise<boolean> => {
    latest = await pingDatabase(options.db);
    return latest;
  };
  const wakeAll = () => {
    for (const watcher of watchers) watcher.wake?.();
  };
  const tick = () => {
    if (pinging) return; // a slow ping is still out; never stack them
    pinging = true;
    void serving().finally(() => {
      pinging = false;
      wakeAll();
    });
  };

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
          current = latest ?? current;
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
