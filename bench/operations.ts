/** The operations the bench drives, over RPC (load generator) and in-process (floor). */
export type Operation = "create" | "token" | "patch" | "hot-patch" | "jwt" | "mixed";

/** The three-key merge patch of call `i`: a number, a string and a nested object. */
export function patchOf(i: number): { a: number; b: string; c: { n: number } } {
  return { a: i, b: `v${i % 7}`, c: { n: i % 3 } };
}

/** Distinct keys the hot-patch operation writes: one per concurrent call at the default concurrency. */
export const HOT_PATCH_KEYS = 64;

/** The one-key merge patch of call `i` on the one hot session: key `k<i mod 64>`, so calls in flight together write different keys. */
export function hotPatchOf(i: number): Record<string, number> {
  return { [`k${i % HOT_PATCH_KEYS}`]: i };
}
