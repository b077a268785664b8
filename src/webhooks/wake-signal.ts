/** Lets sleepers be woken early, all at once (on a NOTIFY, or when an endpoint changes). */
export interface WakeSignal {
  /** Resolves after `ms`, on the next wake(), or when `signal` aborts, whichever comes first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Wakes every sleeper. */
  wake(): void;
}

/** Creates a wake signal. */
export function createWakeSignal(): WakeSignal {
  const sleepers = new Set<() => void>();
  return {
    sleep(ms, signal) {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          sleepers.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        sleepers.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    },
    wake() {
      for (const done of [...sleepers]) done();
    },
  };
}
