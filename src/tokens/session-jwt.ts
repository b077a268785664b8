import { compactVerify, decodeProtectedHeader, errors as joseErrors } from "jose";
import type { JsonObject } from "../claims/json.js";
import { type Clock, rfc3339 } from "../clock.js";
import type { JwtProfile } from "../config.js";
import { InvalidSessionJwtError } from "../errors.js";
import type { ActiveKey, KeyStore } from "../keys/key-store.js";
import type { Session } from "../sessions/session.js";
import { mintCompactJws } from "./jws-sign.js";
import { compactJwsLength } from "./jwt-length.js";

/** Options of createSessionJwts. */
export interface SessionJwtOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** The session claim is `<namespace>session`. */
  readonly namespace: string;
  readonly keys: KeyStore;
  readonly clock: Clock;
  /**
   * `stytch` mints `aud` as a list, adds `authentication_factors` to the session
   * claim and writes its timestamps in whole seconds, as Stytch does.
   */
  readonly profile?: JwtProfile;
}

/** What a verified session JWT names. */
export interface VerifiedSessionJwt {
  readonly sessionId: string;
  readonly userId: string;
}

/** Mints and verifies session JWTs. The only module that signs. */
export interface SessionJwts {
  /** Signs a new JWT carrying the session and its current custom claims at the top level. */
  mint(session: Session): Promise<string>;
  /**
   * The exact length `mint(session)` would return now, with the active key,
   * computed without signing: so a change can be refused before it is written.
   */
  length(session: Session): number;
  /**
   * Checks signature (explicit algorithms, known kid), `typ`, `iss` and `aud`.
   * `exp` is deliberately not checked: an expired JWT of an active session may
   * be refreshed, as Stytch allows. The caller must check the session is active.
   */
  verify(jwt: string): Promise<VerifiedSessionJwt>;
}

/** Builds the session JWT signer/verifier over the key store. */
export function createSessionJwts(options: SessionJwtOptions): SessionJwts {
  const sessionClaim = `${options.namespace}session`;
  const decoder = new TextDecoder();
  const stytch = options.profile === "stytch";
  const precision = stytch ? "seconds" : "milliseconds";

  /** The header and payload JSON of the JWT minted for `session` now: the one serialization both mint and length use. */
  function content(
    session: Session,
    key: ActiveKey,
  ): { header: { alg: string; kid: string; typ: "JWT" }; payloadJson: string } {
    const iat = Math.floor(options.clock().getTime() / 1000);
    const exp = Math.min(iat + options.ttlSeconds, Math.floor(session.expiresAt.getTime() / 1000));
    const payload: JsonObject = {
      ...session.customClaims,
      [sessionClaim]: {
        id: session.id,
        started_at: rfc3339(session.startedAt, precision),
        last_accessed_at: rfc3339(session.lastAccessedAt, precision),
        expires_at: rfc3339(session.expiresAt, precision),
        attributes: { ip_address: session.attributes.ipAddress, user_agent: session.attributes.userAgent },
        // Tessera has no login products, so no factor is ever recorded; Stytch's verifiers expect the list.
        ...(stytch ? { authentication_factors: [] } : {}),
        roles: [...session.roles],
        // Lets a verifier compare a JWT with the claims_version of the latest claims-changed event.
        claims_version: Number(session.claimsVersion),
      },
      iss: options.issuer,
      aud: stytch ? [options.audience] : options.audience,
      sub: session.userId,
      iat,
      nbf: iat,
      exp,
    };
    return { header: { alg: key.alg, kid: key.kid, typ: "JWT" }, payloadJson: JSON.stringify(payload) };
  }

  return {
    async mint(session) {
      const key = options.keys.active();
      const { header, payloadJson } = content(session, key);
      // Signed as the exact texts `length` measures, so the two can never disagree.
      return mintCompactJws(key.alg, key.privateKey, JSON.stringify(header), payloadJson);
    },

    length(session) {
      const key = options.keys.active();
      const { header, payloadJson } = content(session, key);
      return compactJwsLength(JSON.stringify(header), payloadJson, key.signatureLength);
    },

    async verify(jwt) {
      let kid: unknown;
      try {
        kid = decodeProtectedHeader(jwt).kid;
      } catch {
        throw new InvalidSessionJwtError("malformed");
      }
      if (typeof kid !== "string") throw new InvalidSessionJwtError("no key id");
      const key = await options.keys.find(kid);
      if (key === undefined) throw new InvalidSessionJwtError("unknown signing key");
      let payloadBytes: Uint8Array;
      let typ: unknown;
      try {
        const result = await compactVerify(jwt, key.key, { algorithms: [key.alg] });
        payloadBytes = result.payload;
        typ = result.protectedHeader.typ;
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) throw new InvalidSessionJwtError("signature check failed");
        throw err;
      }
      if (typ !== "JWT") throw new InvalidSessionJwtError("wrong typ");
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(decoder.decode(payloadBytes)) as Record<string, unknown>;
      } catch {
        throw new InvalidSessionJwtError("payload is not JSON");
      }
      if (payload === null || typeof payload !== "object") throw new InvalidSessionJwtError("payload is not an object");
      if (payload.iss !== options.issuer) throw new InvalidSessionJwtError("wrong issuer");
      const aud = payload.aud;
      if (!(aud === options.audience || (Array.isArray(aud) && aud.includes(options.audience)))) {
        throw new InvalidSessionJwtError("wrong audience");
      }
      const session = payload[sessionClaim] as { id?: unknown } | undefined;
      if (typeof session?.id !== "string" || typeof payload.sub !== "string") {
        throw new InvalidSessionJwtError("no session claim");
      }
      return { sessionId: session.id, userId: payload.sub };
    },
  };
}
