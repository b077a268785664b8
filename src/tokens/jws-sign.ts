/**
 * Compact JWS signing on node:crypto's synchronous `sign`: no WebCrypto job on
 * the libuv pool per JWT (jose signs through WebCrypto). Verification, JWKS and
 * key import/export stay with jose.
 */
import { type KeyObject, sign } from "node:crypto";
import type { JwtAlgorithm } from "../config.js";

/** The signature of `data` by `key` in its JWS form for `alg`. */
export function jwsSignature(alg: JwtAlgorithm, key: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    case "ES256":
      // JWS wants r‖s (RFC 7518 §3.4), not node's default DER.
      return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
    case "EdDSA":
      return sign(null, data, key);
    case "RS256":
      // PKCS#1 v1.5 is node's default padding for RSA keys.
      return sign("sha256", data, key);
  }
}

/** The compact JWS `b64(header).b64(payload).b64(signature)` of these exact JSON texts. */
export function signCompactJws(alg: JwtAlgorithm, key: KeyObject, headerJson: string, payloadJson: string): string {
  const signingInput = `${Buffer.from(headerJson, "utf8").toString("base64url")}.${Buffer.from(payloadJson, "utf8").toString("base64url")}`;
  const signature = jwsSignature(alg, key, Buffer.from(signingInput, "ascii"));
  return `${signingInput}.${signature.toString("base64url")}`;
}
