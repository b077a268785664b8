/** Throughput and latency percentiles of one measured run. */
export interface RunStats {
  readonly name: string;
  readonly calls: number;
  /** Calls started, warm-up and errors included. */
  readonly attempted: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The first error seen, if any (for the report). */
  readonly firstError?: string;
}

/**
 * Runs `call` from `concurrency` loops for `seconds` (after a short warm-up) and measures it;
 * `onMeasureStart` runs when the measured window opens (after the warm-up).
 */
export async function measure(
  name: string,
  concurrency: number,
  seconds: number,
  call: (i: number) => Promise<unknown>,
  onMeasureStart?: () => void,
): Promise<RunStats> {
  let firstError: string | undefined;
  let attempted = 0;
  const run = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    let counter = 0;
    const deadline = performance.now() + ms;
    const loop = async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        try {
          attempted++;
          await call(counter++);
          if (record) latencies.push(performance.now() - started);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    const began = performance.now();
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { latencies, errors, elapsed: (performance.now() - began) / 1000 };
  };
  await run(Math.min(2_000, seconds * 200), false);
  onMeasureStart?.();
  const { latencies, errors, elapsed } = await run(seconds * 1000, true);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    name,
    calls: latencies.length,
    attempted,
    errors,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** A fixed-width table row. */
export function row(cells: readonly (string | number)[], widths: readonly number[]): string {
  return cells.map((c, i) => String(c).padEnd(widths[i] ?? 12)).join(" | ");
}
