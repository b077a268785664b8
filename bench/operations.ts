/** The operations the bench drives, over RPC (load generator) and in-process (floor). */
export type Operation = "create" | "token" | "patch" | "jwt" | "mixed";

/** The three-key merge patch of call `i`: a number, a string and a nested object. */
export function patchOf(i: number): { a: number; b: string; c: { n: number } } {
  return { a: i, b: `v${i % 7}`, c: { n: i % 3 } };
}
