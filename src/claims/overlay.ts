/**
 * Claims overlays: a session's merge patches folded into one value that can be applied to a base that changes.
 *
 * A session's effective claims are the project's template output for the user *as it is now* (the base) with
 * the session's own RFC 7396 merge patches applied in commit order. Storing the patch list grows without end,
 * and a single merge patch cannot stand for every sequence of patches: `{"a": null}` then `{"a": {"b": 1}}`
 * must give `a = {"b": 1}` whatever the base holds under `a`, but the patch `{"a": {"b": 1}}` merges into it.
 *
 * An overlay is a tree of nodes, one per key a patch touched:
 * - `delete`: the key is absent, whatever the base had;
 * - `replace`: the key holds exactly this value (never null), whatever the base had;
 * - `merge`: the base's object under the key (or `{}` if the base has no object there) gets the children applied.
 * The overlay itself is the `merge` node of the top-level claims object. These three kinds are closed under
 * composition, so `composeOverlays` loses nothing, and applying the composed overlay to any base equals applying
 * the patches one by one. Arrays and scalars are atomic values, as in RFC 7396.
 *
 * Overlays are immutable: no function here mutates its inputs, and results may share nodes with them. Every walk
 * uses an explicit work list, so a deep overlay (one read back from the database) cannot overflow the stack.
 * Keys such as `__proto__` are ordinary data: children live in Maps and objects are written with `setOwn`.
 */
import type { JsonObject, JsonValue } from "./json.js";
import { cloneJson, getOwn, isJsonObject, setOwn } from "./json.js";

/** The key is absent from the effective claims. */
export interface OverlayDelete {
  readonly op: "delete";
}

/** The key holds exactly `value` (a non-null JSON value), whatever the base holds. */
export interface OverlayReplace {
  readonly op: "replace";
  readonly value: JsonValue;
}

/** The base's object under the key, or `{}` when it holds none, with each child applied. */
export interface OverlayMerge {
  readonly op: "merge";
  readonly children: ReadonlyMap<string, OverlayNode>;
}

/** One node of an overlay. */
export type OverlayNode = OverlayDelete | OverlayReplace | OverlayMerge;

/** A session's folded merge patches: the merge node of the top-level claims object. */
export type ClaimsOverlay = OverlayMerge;

const DELETE: OverlayDelete = Object.freeze({ op: "delete" });

/** The overlay of a session that never patched its claims: applying it returns the base unchanged. */
export const EMPTY_OVERLAY: ClaimsOverlay = Object.freeze({ op: "merge", children: new Map<string, OverlayNode>() });

/** The overlay equivalent to one RFC 7396 merge patch (the patch is copied, not kept). */
export function overlayFromPatch(patch: JsonObject): ClaimsOverlay {
  const rootChildren = new Map<string, OverlayNode>();
  const pending: Array<[Map<string, OverlayNode>, JsonObject]> = [[rootChildren, patch]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [into, from] = item;
    for (const key of Object.keys(from)) {
      const value = from[key] as JsonValue;
      if (value === null) {
        into.set(key, DELETE);
      } else if (isJsonObject(value)) {
        const children = new Map<string, OverlayNode>();
        into.set(key, { op: "merge", children });
        pending.push([children, value]);
      } else {
        into.set(key, { op: "replace", value: cloneJson(value) });
      }
    }
  }
  return { op: "merge", children: rootChildren };
}

/** The overlay of `first` followed by `second`: applying it equals applying `first`, then `second`. */
export function composeOverlays(first: ClaimsOverlay, second: ClaimsOverlay): ClaimsOverlay {
  const rootChildren = new Map<string, OverlayNode>();
  // Each item composes two children maps (both merge nodes) into a fresh map we own.
  const pending: Array<[Map<string, OverlayNode>, OverlayMerge, OverlayMerge]> = [[rootChildren, first, second]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [into, older, newer] = item;
    for (const [key, node] of older.children) into.set(key, node);
    for (const [key, next] of newer.children) {
      const prior = older.children.get(key);
      if (prior === undefined || next.op !== "merge") {
        // A delete or replace wins over whatever came before; a merge over nothing is itself.
        into.set(key, next);
      } else if (prior.op === "merge") {
        const children = new Map<string, OverlayNode>();
        into.set(key, { op: "merge", children });
        pending.push([children, prior, next]);
      } else {
        // After a delete or a replace the value is known exactly, so the merge resolves to a value.
        const start = prior.op === "replace" ? prior.value : undefined;
        into.set(key, { op: "replace", value: mergeInto(start, next) });
      }
    }
  }
  return { op: "merge", children: rootChildren };
}

/** The effective claims: `overlay` applied to `base`; returns a fresh object and mutates neither input. */
export function applyOverlay(base: JsonObject, overlay: ClaimsOverlay): JsonObject {
  return mergeInto(base, overlay) as JsonObject;
}

/**
 * JSON Pointers (RFC 6901) of every value the session set (each `replace` node), sorted. The effective claims
 * always hold exactly that value at that pointer, whatever the base: a claim a caller set is never dropped.
 */
export function overlaySetPaths(overlay: ClaimsOverlay): string[] {
  const paths: string[] = [];
  const pending: Array<[string, OverlayMerge]> = [["", overlay]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [prefix, node] = item;
    for (const [key, child] of node.children) {
      const pointer = `${prefix}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (child.op === "replace") paths.push(pointer);
      else if (child.op === "merge") pending.push([pointer, child]);
    }
  }
  return paths.sort();
}

/** The value `node` (a merge) produces over `start`: a fresh object built without recursion. */
function mergeInto(start: JsonValue | undefined, node: OverlayMerge): JsonValue {
  // A merge over a non-object (or nothing) starts from {}, as RFC 7396 does for a patch object.
  const result = (isJsonObject(start) ? cloneJson(start) : {}) as JsonObject;
  const pending: Array<[JsonObject, OverlayMerge]> = [[result, node]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [into, merge] = item;
    for (const [key, child] of merge.children) {
      if (child.op === "delete") {
        if (Object.hasOwn(into, key)) delete into[key];
      } else if (child.op === "replace") {
        setOwn(into, key, cloneJson(child.value));
      } else {
        const existing = getOwn(into, key);
        // `into` is already a fresh copy, so an existing object under the key is ours to change.
        const target: JsonObject = isJsonObject(existing) ? existing : {};
        setOwn(into, key, target);
        pending.push([target, child]);
      }
    }
  }
  return result;
}
