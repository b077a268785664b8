/**
 * Compact JWS signing on node:crypto, without jose's WebCrypto layer (which
 * cost ~80 µs of CPU per ES256 JWT against node:crypto's ~43: `npx tsx
 * bench/sign.ts`). Verification, JWKS and key import/export stay with jose.
 */
import { type KeyObject, sign } from "node:crypto";
import { promisify } from "node:util";
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

const signOnPool = promisify(sign);

/** As signCompactJws, but node:crypto signs on the libuv pool, off the main thread. */
export async function signCompactJwsOnPool(
  alg: JwtAlgorithm,
  key: KeyObject,
  headerJson: string,
  payloadJson: string,
): Promise<string> {
  const signingInput = `${Buffer.from(headerJson, "utf8").toString("base64url")}.${Buffer.from(payloadJson, "utf8").toString("base64url")}`;
  const data = Buffer.from(signingInput, "ascii");
  const signature =
    alg === "ES256"
      ? await signOnPool("sha256", data, { key, dsaEncoding: "ieee-p1363" })
      : await signOnPool(alg === "EdDSA" ? null : "sha256", data, key);
  return `${signingInput}.${signature.toString("base64url")}`;
}

/**
 * Signs as JWTs are minted: ES256 and EdDSA (~40 µs) synchronously on the
 * calling thread; RS256 (~320 µs, which would stall every other call) on the pool.
 */
export function mintCompactJws(
  alg: JwtAlgorithm,
  key: KeyObject,
  headerJson: string,
  payloadJson: string,
): Promise<string> {
  if (alg === "RS256") return signCompactJwsOnPool(alg, key, headerJson, payloadJson);
  return Promise.resolve(signCompactJws(alg, key, headerJson, payloadJson));
}
