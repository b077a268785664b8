import type { JWK } from "jose";
import type { PublicKey } from "../keys/key-store.js";

/** The public parameters a JWKS may carry; anything else (private parts) is never copied. */
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

/** A standard JWK Set (RFC 7517) of the published verification keys. */
export function toJwks(keys: readonly PublicKey[]): { keys: JWK[] } {
  return {
    keys: keys.map(({ kid, alg, jwk }) => {
      const out: JWK = { kid, alg, use: "sig" };
      for (const member of PUBLIC_MEMBERS) if (typeof jwk[member] === "string") out[member] = jwk[member];
      return out;
    }),
  };
}
