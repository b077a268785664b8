/** Retry delays of a failing endpoint. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The delay before retry number `attempts` (1 after the first failure):
 * "full jitter", a uniform pick from [0, min(max, base * 2^(attempts-1))],
 * so endpoints that failed together do not retry together. `random` is
 * injectable for tests.
 */
export function retryDelayMs(attempts: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
