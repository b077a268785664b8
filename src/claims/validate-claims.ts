import { Buffer } from "node:buffer";
import { ClaimsTooLargeError, InvalidClaimsError, ReservedClaimError } from "../errors.js";
import { isStorableText } from "../storable-text.js";
import type { ClaimsPolicy } from "./claims-policy.js";
import { reservedClaimRule } from "./claims-policy.js";
import type { JsonObject } from "./json.js";

// Keys can be arbitrarily long; error text stays short enough for logs.
const MAX_KEY_TEXT = 200;

/** Where a value sits: its key under its parent, and the depth of a container there. */
interface Location {
  readonly parent: Location | undefined;
  readonly key: string;
  readonly depth: number;
}

/** Throws InvalidClaimsError unless `value` is a JSON object (not an array, null or scalar). */
export function assertClaimsObject(value: unknown): asserts value is JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw new InvalidClaimsError(`custom claims must be a JSON object, got ${describeType(value)}`);
  }
}

/**
 * Throws InvalidClaimsError if claims nest deeper than policy.maxDepth, or hold
 * a non-finite number, a non-JSON value, or a key or string with U+0000 or a
 * lone surrogate (which PostgreSQL's jsonb and UTF-8 cannot carry).
 */
export function assertJsonClaims(claims: unknown, policy: ClaimsPolicy): asserts claims is JsonObject {
  assertClaimsObject(claims);
  const root: Location = { parent: undefined, key: "", depth: 1 };
  checkDepth(root, policy);
  // An explicit work list, and no descent past maxDepth, so a 10,000-deep value cannot overflow the stack.
  const pending: Array<{ readonly value: object; readonly at: Location }> = [{ value: claims, at: root }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const parent = item.at;
    // A value's location is made only when an error names it or it is a container (the common scalar needs none).
    const here = (key: string): Location => ({ parent, key, depth: parent.depth + 1 });
    for (const [key, value] of ownEntries(item.value)) {
      // The message names where the key is, never the key: its text is what cannot be carried.
      if (!isStorableText(key)) throw invalidKeyUnder(parent);
      if (typeof value === "string") {
        if (!isStorableText(value)) throw invalidAt(here(key), UNSTORABLE);
        continue;
      }
      if (value === null || typeof value === "boolean") continue;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) throw invalidAt(here(key), "is not a finite number");
        continue;
      }
      const at = here(key);
      if (typeof value !== "object" || (!Array.isArray(value) && !isPlainObject(value))) {
        throw invalidAt(at, "is not a JSON value");
      }
      checkDepth(at, policy);
      pending.push({ value, at });
    }
  }
}

/** Throws ReservedClaimError for the first top-level key of `claims` that the policy reserves. */
export function assertNoReservedClaims(claims: JsonObject, policy: ClaimsPolicy): void {
  for (const key of Object.keys(claims)) {
    const rule = reservedClaimRule(key, policy);
    if (rule !== undefined) throw new ReservedClaimError(truncate(key), rule);
  }
}

/** Throws ClaimsTooLargeError if the UTF-8 JSON encoding of `claims` exceeds policy.maxBytes. */
export function assertClaimsSize(claims: JsonObject, policy: ClaimsPolicy): void {
  const size = Buffer.byteLength(JSON.stringify(claims), "utf8");
  if (size > policy.maxBytes) throw new ClaimsTooLargeError(size, policy.maxBytes);
}

function ownEntries(value: object): Array<[string, unknown]> {
  // Array.from turns holes of a sparse array into undefined, which is then rejected.
  if (Array.isArray(value)) return Array.from(value, (item: unknown, index) => [String(index), item]);
  return Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]]);
}

function checkDepth(at: Location, policy: ClaimsPolicy): void {
  if (at.depth > policy.maxDepth) {
    throw new InvalidClaimsError(`custom claims nest deeper than ${policy.maxDepth} levels at ${quotedPath(at)}`, {
      max_depth: String(policy.maxDepth),
    });
  }
}

const UNSTORABLE = "holds a NUL character (U+0000) or a lone surrogate";

function invalidAt(at: Location, problem: string): InvalidClaimsError {
  return new InvalidClaimsError(`custom claim at ${quotedPath(at)} ${problem}`, { path: keyPath(at) });
}

function invalidKeyUnder(parent: Location): InvalidClaimsError {
  const where = parent.parent === undefined ? "a top-level custom claim name" : `a key in ${quotedPath(parent)}`;
  return new InvalidClaimsError(`${where} ${UNSTORABLE}`, { path: keyPath(parent) });
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "non-plain object" : typeof value;
}

// A JSON Pointer (RFC 6901), truncated: it names keys only, never values.
function keyPath(location: Location): string {
  const segments: string[] = [];
  for (let at: Location | undefined = location; at?.parent !== undefined; at = at.parent) {
    segments.push(at.key.replaceAll("~", "~0").replaceAll("/", "~1"));
  }
  return truncate(
    segments
      .reverse()
      .map((segment) => `/${segment}`)
      .join(""),
  );
}

function quotedPath(at: Location): string {
  return JSON.stringify(keyPath(at));
}

function truncate(text: string): string {
  if (text.length <= MAX_KEY_TEXT) return text;
  // Do not split a surrogate pair at the cut.
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(MAX_KEY_TEXT - 1)) ? MAX_KEY_TEXT - 1 : MAX_KEY_TEXT;
  return `${text.slice(0, cut)}…`;
}
