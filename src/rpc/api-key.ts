import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { MIN_API_KEY_LENGTH } from "../config.js";
import { InvalidApiKeyError } from "../errors.js";

/**
 * Checks a presented API key against the configured ones in constant time.
 * Refuses to be built without keys or with a key shorter than
 * MIN_API_KEY_LENGTH, and never accepts a presented key that short (so never an empty one).
 */
export function createApiKeyCheck(keys: readonly string[]): (presented: string) => boolean {
  if (keys.length === 0) throw new Error("an API key check needs at least one key");
  if (keys.some((key) => key.length < MIN_API_KEY_LENGTH)) {
    throw new Error(`every API key must be at least ${MIN_API_KEY_LENGTH} characters`);
  }
  // Comparing fixed-length digests keeps the comparison time independent of key length and content.
  const digests = keys.map((key) => createHash("sha256").update(key).digest());
  return (presented) => {
    // The length of what the caller sent is no secret; a short one can match nothing.
    if (presented.length < MIN_API_KEY_LENGTH) return false;
    const digest = createHash("sha256").update(presented).digest();
    let match = false;
    for (const candidate of digests) match = timingSafeEqual(candidate, digest) || match;
    return match;
  };
}

/** Extracts the key from an `authorization: Bearer <key>` header value. */
export function bearerKey(header: string | null): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1];
}

/**
 * Interceptor that requires a valid API key on every procedure except the
 * public ones. Runs before the handler, so a refused call never reaches the database.
 */
export function apiKeyInterceptor(keys: readonly string[], isPublic: (procedure: string) => boolean): Interceptor {
  const check = createApiKeyCheck(keys);
  return (next) => async (req) => {
    if (!isPublic(`${req.service.typeName}/${req.method.name}`)) {
      const key = bearerKey(req.header.get("authorization"));
      if (key === undefined) throw new InvalidApiKeyError("missing API key: send authorization: Bearer <key>");
      if (!check(key)) throw new InvalidApiKeyError("invalid API key");
    }
    return next(req);
  };
}
