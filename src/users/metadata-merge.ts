import { cloneJson, type JsonObject, setOwn } from "../claims/json.js";
import { mergePatch } from "../claims/merge-patch.js";

/**
 * How a metadata patch meets the stored object:
 * - `rfc7396`: JSON Merge Patch, objects merged at every depth (the gRPC API);
 * - `top-level`: Stytch's documented metadata update, merged at the top level only: a top-level null deletes
 *   the key, any other value (a nested object or an array too) replaces the key's whole value.
 */
export type MetadataMerge = "rfc7396" | "top-level";

/** Stytch's documented limit on a metadata object's top-level keys (https://stytch.com/docs/api/metadata). */
export const STYTCH_METADATA_MAX_KEYS = 20;

/** Applies `patch` to `current` as `mode` says; returns a fresh object and leaves both inputs untouched. */
export function mergeMetadata(current: JsonObject, patch: JsonObject, mode: MetadataMerge): JsonObject {
  return mode === "rfc7396" ? mergePatch(current, patch) : topLevelMerge(current, patch);
}

/** Stytch's top-level merge: no deep merge, so nulls below the top level are stored as given. */
export function topLevelMerge(current: JsonObject, patch: JsonObject): JsonObject {
  const result = cloneJson(current) as JsonObject;
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      if (Object.hasOwn(result, key)) delete result[key];
    } else {
      setOwn(result, key, cloneJson(value));
    }
  }
  return result;
}
