import { TooManyCallsError } from "../errors.js";

/** Counts open long-lived calls of one kind (health Watch, WatchEvents) per connection and in total. */
export interface WatchLimits {
  /** Takes a slot on `connection` or throws TooManyCallsError (TOO_MANY_WATCHES); returns its release, safe to call twice. */
  acquire(connection: object | undefined): () => void;
  /** Open watches, over all connections, and connections holding any. */
  stats(): { watches: number; connections: number };
}

/** Options of createWatchLimits. */
export interface WatchLimitsOptions {
  /** What is counted, for the refusal's message, e.g. "health watches". */
  readonly what: string;
  readonly perConnection: number;
  readonly total: number;
}

/** A watch never ends on its own, so a client could hold them without end; this bounds them. */
export function createWatchLimits(options: WatchLimitsOptions): WatchLimits {
  const byConnection = new Map<object, number>();
  let total = 0;
  return {
    acquire(connection) {
      const mine = connection === undefined ? 0 : (byConnection.get(connection) ?? 0);
      if (mine >= options.perConnection) {
        throw new TooManyCallsError("TOO_MANY_WATCHES", options.what, "connection", options.perConnection);
      }
      if (total >= options.total) {
        throw new TooManyCallsError("TOO_MANY_WATCHES", options.what, "server", options.total);
      }
      total += 1;
      if (connection !== undefined) byConnection.set(connection, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total -= 1;
        if (connection === undefined) return;
        const left = (byConnection.get(connection) ?? 1) - 1;
        if (left > 0) byConnection.set(connection, left);
        else byConnection.delete(connection);
      };
    },
    stats: () => ({ watches: total, connections: byConnection.size }),
  };
}
