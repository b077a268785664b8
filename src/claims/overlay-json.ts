/**
 * The stored form of a claims overlay: compact JSON for a jsonb column.
 *
 * Each node becomes one JSON value, told apart by its JSON type:
 * - `delete`  → `null`
 * - `replace` → `[value]` (a one-element array wrapping the non-null value)
 * - `merge`   → `{ key: encoded child, ... }`
 * The overlay itself is a merge, so it is stored as an object; `EMPTY_OVERLAY` is `{}`. For example the patches
 * `{"a": null}` then `{"a": {"b": 1}, "x": {"y": null}}` are stored as `{"a": [{"b": 1}], "x": {"y": null}}`.
 * Key order carries no meaning (jsonb does not keep it). Decoding checks the whole shape and throws
 * `CorruptClaimsOverlayError` (naming where, never what) on anything that is not an encoding of an overlay.
 */
import { Buffer } from "node:buffer";
import { CorruptClaimsOverlayError } from "../errors.js";
import type { JsonObject, JsonValue } from "./json.js";
import { cloneJson, isJsonObject, setOwn } from "./json.js";
import type { ClaimsOverlay, OverlayMerge, OverlayNode } from "./overlay.js";

/** Deepest nesting `overlayFromJson` accepts by default: the largest CLAIMS_MAX_DEPTH the config allows. */
export const MAX_STORED_OVERLAY_DEPTH = 256;

// Pointers in error metadata stay short enough for logs.
const MAX_POINTER_TEXT = 200;

/** The JSON form of an overlay, for storage; shares no objects with the overlay. */
export function overlayToJson(overlay: ClaimsOverlay): JsonObject {
  const root: JsonObject = {};
  const pending: Array<[JsonObject, OverlayMerge]> = [[root, overlay]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [into, merge] = item;
    for (const [key, child] of merge.children) {
      if (child.op === "delete") {
        setOwn(into, key, null);
      } else if (child.op === "replace") {
        setOwn(into, key, [cloneJson(child.value)]);
      } else {
        const object: JsonObject = {};
        setOwn(into, key, object);
        pending.push([object, child]);
      }
    }
  }
  return root;
}

/**
 * UTF-8 bytes of the stored form of an overlay (`JSON.stringify(overlayToJson(overlay))`): what a session makes
 * the database hold for its patches. Counted without building that text: an object is its braces, commas, and
 * each key's JSON text, colon and value, whatever the order. Overlay nodes are immutable and shared between an
 * overlay and the ones composed from it, so each node's count is kept (weakly): a patch of one key of a large
 * overlay counts only the nodes it made.
 */
export function overlayByteSize(overlay: ClaimsOverlay): number {
  // Post-order without recursion: a merge node is counted once all its merge children are.
  const pending: Array<{ readonly node: OverlayMerge; expanded: boolean }> = [{ node: overlay, expanded: false }];
  for (let item = pending.at(-1); item !== undefined; item = pending.at(-1)) {
    if (mergeBytes.has(item.node)) {
      pending.pop();
    } else if (!item.expanded) {
      item.expanded = true;
      for (const child of item.node.children.values()) {
        if (child.op === "merge" && !mergeBytes.has(child)) pending.push({ node: child, expanded: false });
      }
    } else {
      pending.pop();
      mergeBytes.set(item.node, countMerge(item.node));
    }
  }
  return mergeBytes.get(overlay) as number;
}

const mergeBytes = new WeakMap<OverlayMerge, number>();
const replaceBytes = new WeakMap<OverlayNode, number>();
const NULL_BYTES = 4;

/** UTF-8 bytes of `JSON.stringify(text)`: its length and quotes when it is printable ASCII needing no escape. */
function jsonStringBytes(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) {
      return Buffer.byteLength(JSON.stringify(text), "utf8");
    }
  }
  return text.length + 2;
}

/** Bytes of a merge node's stored object, its merge children already counted. */
function countMerge(node: OverlayMerge): number {
  let bytes = 2 + Math.max(0, node.children.size - 1);
  for (const [key, child] of node.children) {
    bytes += jsonStringBytes(key) + 1;
    if (child.op === "delete") {
      bytes += NULL_BYTES;
    } else if (child.op === "merge") {
      bytes += mergeBytes.get(child) as number;
    } else {
      let value = replaceBytes.get(child);
      if (value === undefined) {
        // `[value]`: the brackets and the value's own text.
        value = 2 + Buffer.byteLength(JSON.stringify(child.value), "utf8");
        replaceBytes.set(child, value);
      }
      bytes += value;
    }
  }
  return bytes;
}

/**
 * Decodes the stored form of an overlay, checking every node and value (plain objects and arrays only, finite
 * numbers, nesting at most `maxDepth` levels counting the top-level object as 1); throws CorruptClaimsOverlayError.
 */
export function overlayFromJson(value: unknown, maxDepth: number = MAX_STORED_OVERLAY_DEPTH): ClaimsOverlay {
  if (!isPlainObject(value)) throw new CorruptClaimsOverlayError("", "is not an object");
  const root: { op: "merge"; children: Map<string, OverlayNode> } = { op: "merge", children: new Map() };
  const pending: Array<{ into: Map<string, OverlayNode>; from: object; pointer: string; depth: number }> = [
    { into: root.children, from: value, pointer: "", depth: 1 },
  ];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { into, from, pointer, depth } = item;
    if (depth > maxDepth) throw corrupt(pointer, `nests deeper than ${maxDepth} levels`);
    for (const key of Object.keys(from)) {
      const encoded: unknown = (from as Record<string, unknown>)[key];
      const at = `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (encoded === null) {
        into.set(key, { op: "delete" });
      } else if (Array.isArray(encoded)) {
        if (encoded.length !== 1 || !(0 in encoded)) throw corrupt(at, "is an array that is not one value");
        const replaced: unknown = encoded[0];
        if (replaced === null) throw corrupt(at, "replaces with null");
        // The wrapping array does not count: the value sits one level below its object, as in the claims.
        into.set(key, { op: "replace", value: checkedJson(replaced, at, depth + 1, maxDepth) });
      } else if (isPlainObject(encoded)) {
        const children = new Map<string, OverlayNode>();
        into.set(key, { op: "merge", children });
        pending.push({ into: children, from: encoded, pointer: at, depth: depth + 1 });
      } else {
        throw corrupt(at, "is neither null, a one-element array nor an object");
      }
    }
  }
  return root;
}

/** A fresh copy of `value` if it is plain JSON nesting at most `maxDepth` levels overall; throws otherwise. */
function checkedJson(value: unknown, pointer: string, depth: number, maxDepth: number): JsonValue {
  const holder: JsonObject = {};
  const pending: Array<{ into: JsonObject | JsonValue[]; key: string; from: unknown; at: string; depth: number }> = [
    { into: holder, key: "value", from: value, at: pointer, depth },
  ];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { into, key, from, at } = item;
    const put = (copy: JsonValue): void => {
      if (Array.isArray(into)) into[Number(key)] = copy;
      else setOwn(into, key, copy);
    };
    if (from === null || typeof from === "string" || typeof from === "boolean") {
      put(from);
    } else if (typeof from === "number") {
      if (!Number.isFinite(from)) throw corrupt(at, "holds a number that is not finite");
      put(from);
    } else if (Array.isArray(from) || isPlainObject(from)) {
      if (item.depth > maxDepth) throw corrupt(at, `nests deeper than ${maxDepth} levels`);
      const copy: JsonObject | JsonValue[] = Array.isArray(from) ? new Array<JsonValue>(from.length) : {};
      put(copy);
      // Array.from turns holes of a sparse array into undefined, which is then rejected.
      const entries: Array<[string, unknown]> = Array.isArray(from)
        ? Array.from(from, (element: unknown, index) => [String(index), element])
        : Object.keys(from).map((name) => [name, (from as Record<string, unknown>)[name]]);
      for (const [name, element] of entries) {
        const below = `${at}/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;
        pending.push({ into: copy, key: name, from: element, at: below, depth: item.depth + 1 });
      }
    } else {
      throw corrupt(at, "holds something that is not a JSON value");
    }
  }
  return holder["value"] as JsonValue;
}

function isPlainObject(value: unknown): value is object {
  if (!isJsonObject(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function corrupt(pointer: string, problem: string): CorruptClaimsOverlayError {
  return new CorruptClaimsOverlayError(truncate(pointer), problem);
}

function truncate(text: string): string {
  if (text.length <= MAX_POINTER_TEXT) return text;
  // Do not split a surrogate pair at the cut.
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(MAX_POINTER_TEXT - 1)) ? MAX_POINTER_TEXT - 1 : MAX_POINTER_TEXT;
  return `${text.slice(0, cut)}…`;
}
