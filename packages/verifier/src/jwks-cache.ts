import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** A JWKS fetched from Tessera, refreshed on demand, at most once per `minRefreshMs` unless forced. */
export interface JwksCache {
  /** The key resolver for jose's jwtVerify; throws before the first successful fetch. */
  readonly getKey: JWTVerifyGetKey;
  /** Fetches the JWKS again (deduplicating concurrent calls); `force` skips the rate limit. */
  refresh(force?: boolean): Promise<boolean>;
}

/** Builds a JWKS cache over `GET <url>/.well-known/jwks.json`. */
export function createJwksCache(url: string, minRefreshMs: number, now: () => number): JwksCache {
  const jwksUrl = new URL("/.well-known/jwks.json", url);
  let local: JWTVerifyGetKey | undefined;
  let lastFetchMs = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<boolean> | undefined;

  async function fetchOnce(): Promise<boolean> {
    lastFetchMs = now();
    const response = await fetch(jwksUrl, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`JWKS fetch failed with HTTP ${response.status}`);
    local = createLocalJWKSet((await response.json()) as JSONWebKeySet);
    return true;
  }

  return {
    getKey: (header, token) => {
      if (local === undefined) throw new Error("no JWKS fetched yet");
      return local(header, token);
    },
    refresh(force = false) {
      if (inFlight !== undefined) return inFlight;
      if (!force && now() - lastFetchMs < minRefreshMs) return Promise.resolve(false);
      inFlight = fetchOnce().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
