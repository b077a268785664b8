import { expect } from "vitest";
import type { JsonObject, JsonValue } from "../../src/claims/index.js";
import type { TesseraError } from "../../src/errors.js";

/** A distinctive claim value that must never show up in an error message or metadata. */
export const SECRET = "s3cret-claim-value";

/** Runs `fn`, asserts it throws `errorClass` with `reason`, and that no listed value leaks into message or metadata. */
export function expectClaimsError<E extends TesseraError>(
  fn: () => unknown,
  errorClass: new (...args: never[]) => E,
  reason: string,
  forbidden: readonly string[] = [SECRET],
): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(errorClass);
  const err = caught as E;
  expect(err.reason).toBe(reason);
  const text = [err.message, ...Object.values(err.metadata)].join("\n");
  for (const value of forbidden) expect(text).not.toContain(value);
  return err;
}

/** Freezes a value and everything inside it, so any mutation throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (typeof item !== "object" || item === null) continue;
    Object.freeze(item);
    pending.push(...Object.values(item));
  }
  return value;
}

/** Every object and array reachable from a value, the value itself included. */
export function containersOf(value: unknown): Set<object> {
  const found = new Set<object>();
  const pending: unknown[] = [value];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (typeof item !== "object" || item === null || found.has(item)) continue;
    found.add(item);
    pending.push(...Object.values(item));
  }
  return found;
}

/** Claims whose objects nest exactly `depth` levels (the top-level object is level 1). */
export function nestedObject(depth: number): JsonObject {
  let value: JsonObject = { leaf: SECRET };
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

/** Claims `{ a: [[...]] }` nesting exactly `depth` levels (depth >= 2): one object, then arrays. */
export function nestedArray(depth: number): JsonObject {
  let value: JsonValue = [SECRET];
  for (let level = 2; level < depth; level += 1) value = [value];
  return { a: value };
}
