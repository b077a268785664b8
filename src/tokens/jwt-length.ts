/**
 * Exact lengths of compact JWS strings, computed without signing: the
 * base64url (unpadded) lengths of the header and payload JSON, two dots, and
 * the signature, whose length depends only on the algorithm and key size.
 */
import type { JwtAlgorithm } from "../config.js";
import { SessionJwtTooLargeError } from "../errors.js";
import type { Session } from "../sessions/session.js";
import type { SessionJwts } from "./session-jwt.js";

/** Characters of the unpadded base64url encoding of `bytes` bytes. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/**
 * Characters of a signature by `alg` with the key whose public JWK is `jwk`:
 * ES256 (r‖s, 64 bytes) and EdDSA over Ed25519 (64 bytes) are 86; RS256 is as
 * long as the modulus (342 for 2048 bits).
 */
export function signatureLength(alg: JwtAlgorithm, jwk: { readonly n?: unknown }): number {
  switch (alg) {
    case "ES256":
    case "EdDSA":
      return base64urlLength(64);
    case "RS256":
      if (typeof jwk.n !== "string") throw new Error("an RS256 key needs a modulus");
      return base64urlLength(Buffer.from(jwk.n, "base64url").length);
  }
}

/** Characters of the compact JWS `b64(header).b64(payload).signature` for these JSON texts. */
export function compactJwsLength(headerJson: string, payloadJson: string, signatureChars: number): number {
  const header = base64urlLength(Buffer.byteLength(headerJson, "utf8"));
  const payload = base64urlLength(Buffer.byteLength(payloadJson, "utf8"));
  return header + 1 + payload + 1 + signatureChars;
}

/**
 * A check that throws SessionJwtTooLargeError when a session's JWT, as `jwts`
 * would mint it now, is longer than `maxLength`: what authenticate accepts back.
 */
export function jwtLengthCheck(jwts: Pick<SessionJwts, "length">, maxLength: number): (session: Session) => void {
  return (session) => {
    const length = jwts.length(session);
    if (length > maxLength) throw new SessionJwtTooLargeError(length, maxLength);
  };
}
