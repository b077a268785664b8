import type { JsonObject } from "./json.js";
import { cloneJson, getOwn, isJsonObject, setOwn } from "./json.js";

/** Applies an RFC 7396 JSON Merge Patch to an object; returns a fresh object and mutates neither input. */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result = cloneJson(target) as JsonObject;
  // Pairs of (fresh object we own, patch object to apply to it); iterative so depth cannot overflow the stack.
  const pending: Array<[JsonObject, JsonObject]> = [[result, patch]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [into, from] = pair;
    for (const key of Object.keys(from)) {
      const value = from[key];
      if (value === null) {
        if (Object.hasOwn(into, key)) delete into[key];
      } else if (isJsonObject(value)) {
        const existing = getOwn(into, key);
        // A non-object or absent value is replaced by {}, so nulls inside the patch simply vanish.
        const child: JsonObject = isJsonObject(existing) ? existing : {};
        setOwn(into, key, child);
        pending.push([child, value]);
      } else {
        setOwn(into, key, cloneJson(value));
      }
    }
  }
  return result;
}
