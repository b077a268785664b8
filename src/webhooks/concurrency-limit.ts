/** Runs at most `limit` tasks at once; the rest wait in arrival order. */
export interface ConcurrencyLimit {
  /** Runs `task` once a slot is free; rejects without running it if `signal` aborts first. */
  run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

/** Creates a limit of `limit` concurrent tasks. */
export function createConcurrencyLimit(limit: number): ConcurrencyLimit {
  let running = 0;
  const queue: Array<() => void> = [];

  const acquire = (signal: AbortSignal): Promise<void> => {
    if (running < limit) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = queue.indexOf(grant);
        if (index >= 0) queue.splice(index, 1);
        reject(signal.reason);
      };
      queue.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  };

  const release = () => {
    const next = queue.shift();
    // The slot passes straight to the next waiter, so `running` stays the same.
    if (next === undefined) running -= 1;
    else next();
  };

  return {
    async run(task, signal) {
      signal.throwIfAborted();
      await acquire(signal);
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
