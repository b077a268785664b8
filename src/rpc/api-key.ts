import { createHash, timingSafeEqual } from "node:crypto";
import type { ContextKey, Interceptor } from "@connectrpc/connect";
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

/** Why a call may not proceed: the refusal for a non-public procedure without a valid key, else undefined. */
export type ApiKeyRule = (procedure: string, authorization: string | null) => InvalidApiKeyError | undefined;

/** The API key rule: every procedure except the public ones needs `authorization: Bearer <one of keys>`. */
export function createApiKeyRule(keys: readonly string[], isPublic: (procedure: string) => boolean): ApiKeyRule {
  const check = createApiKeyCheck(keys);
  return (procedure, authorization) => {
    if (isPublic(procedure)) return undefined;
    const key = bearerKey(authorization);
    if (key === undefined) return new InvalidApiKeyError("missing API key: send authorization: Bearer <key>");
    if (!check(key)) return new InvalidApiKeyError("invalid API key");
    return undefined;
  };
}

/**
 * Interceptor applying the API key rule. Runs before the handler, so a
 * refused call never reaches the database. The server applies the same rule
 * to the headers before reading a body (see ConnectNodeHandlerOptions.refusedByHeaders),
 * so a caller without a key cannot make it wait for one either; a call whose
 * context values hold `accepted` true already passed that check and is not hashed again.
 */
export function apiKeyInterceptor(rule: ApiKeyRule, accepted?: ContextKey<boolean>): Interceptor {
  return (next) => async (req) => {
    if (accepted !== undefined && req.contextValues.get(accepted)) return next(req);
    const refusal = rule(`${req.service.typeName}/${req.method.name}`, req.header.get("authorization"));
    if (refusal !== undefined) throw refusal;
    return next(req);
  };
}
