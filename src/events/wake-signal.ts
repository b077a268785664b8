/** Lets sleepers be woken early, all at once (on a NOTIFY, or when an endpoint changes). */
export interface WakeSignal {
  /** Resolves after `ms` or when `signal` aborts (false), or on the next wake() (true), whichever comes first. */
  sleep(ms: number, signal: AbortSignal): Promise<boolean>;
  /** Wakes every sleeper. */
  wake(): void;
  /** How many wake() calls there were: a caller compares two readings to learn of a wake it was not asleep for. */
  wakes(): number;
}

/** Creates a wake signal. */
export function createWakeSignal(): WakeSignal {
  const sleepers = new Set<(woken: boolean) => void>();
  let count = 0;
  return {
    sleep(ms, signal) {
      return new Promise((resolve) => {
        const done = (woken: boolean) => {
          clearTimeout(timer);
          sleepers.delete(done);
          signal.removeEventListener("abort", timedOut);
          resolve(woken);
        };
        const timedOut = () => done(false);
        const timer = setTimeout(timedOut, Math.max(0, ms));
        sleepers.add(done);
        signal.addEventListener("abort", timedOut, { once: true });
      });
    },
    wake() {
      count += 1;
      for (const done of [...sleepers]) done(true);
    },
    wakes: () => count,
  };
}
