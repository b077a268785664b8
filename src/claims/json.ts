/** Any JSON value, as produced by `JSON.parse`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object: string keys to JSON values. */
export type JsonObject = { [key: string]: JsonValue };

type JsonContainer = JsonValue[] | JsonObject;

/** True for a JSON object: a non-null, non-array object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets `key` as an own enumerable data property, safe for `__proto__`. */
export function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  // Plain assignment to an inherited name ("__proto__" while its accessor exists, or one of a frozen prototype)
  // would not store own data. Any other assignment stores exactly what defineProperty would (a new key is
  // enumerable, writable and configurable; an own one keeps its place), several times faster.
  if (key in target && !Object.hasOwn(target, key)) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Reads `key` only if it is an own property, never from the prototype chain. */
export function getOwn(source: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(source, key) ? source[key] : undefined;
}

/** Deep-copies a JSON value into fresh plain objects and arrays, without recursion. */
export function cloneJson(value: JsonValue): JsonValue {
  // Most values are scalars, which are their own copy.
  if (value === null || typeof value !== "object") return value;
  const pending: Array<[JsonContainer, JsonContainer]> = [];
  const copyOf = (item: JsonValue): JsonValue => {
    if (item === null || typeof item !== "object") return item;
    const fresh: JsonContainer = Array.isArray(item) ? [] : {};
    pending.push([item, fresh]);
    return fresh;
  };
  const root = copyOf(value);
  // An explicit work list keeps arbitrarily deep values off the call stack.
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [from, to] = pair;
    if (Array.isArray(from) && Array.isArray(to)) {
      for (const item of from) to.push(copyOf(item));
    } else if (isJsonObject(from) && isJsonObject(to)) {
      for (const key of Object.keys(from)) setOwn(to, key, copyOf(from[key]));
    }
  }
  return root;
}
