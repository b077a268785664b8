import type { Database } from "./database.js";

/** Database.listen's shape. */
export type Listen = Database["listen"];

interface Subscriber {
  readonly onNotify: () => void;
  readonly onLost: ((err: unknown) => void) | undefined;
}

interface Channel {
  readonly subscribers: Set<Subscriber>;
  readonly ready: Promise<() => Promise<void>>;
}

/**
 * One LISTEN per channel however many parts of the app subscribe (the event
 * feed and the webhook dispatcher): every subscriber is told of each NOTIFY
 * and each lost connection; the LISTEN stops when the last subscriber stops.
 * On PostgreSQL that is one dedicated connection instead of one per subscriber.
 */
export function shareListen(listen: Listen): Listen {
  const channels = new Map<string, Channel>();
  return async (channel, onNotify, onLost) => {
    let entry = channels.get(channel);
    if (entry === undefined) {
      const subscribers = new Set<Subscriber>();
      const ready = listen(
        channel,
        () => {
          for (const subscriber of [...subscribers]) subscriber.onNotify();
        },
        (err) => {
          for (const subscriber of [...subscribers]) subscriber.onLost?.(err);
        },
      );
      const created: Channel = { subscribers, ready };
      // A failed LISTEN is not kept: the next subscriber tries again.
      ready.catch(() => {
        if (channels.get(channel) === created) channels.delete(channel);
      });
      channels.set(channel, created);
      entry = created;
    }
    const subscriber: Subscriber = { onNotify, onLost };
    entry.subscribers.add(subscriber);
    let stopListening: () => Promise<void>;
    try {
      stopListening = await entry.ready;
    } catch (err) {
      entry.subscribers.delete(subscriber);
      throw err;
    }
    const joined = entry;
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      joined.subscribers.delete(subscriber);
      if (joined.subscribers.size > 0 || channels.get(channel) !== joined) return;
      channels.delete(channel);
      await stopListening();
    };
  };
}
