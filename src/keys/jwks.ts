import type { JWK } from "jose";
import type { PublicKey } from "./key-store.js";

/** The public parameters a JWKS may carry; anything else (private parts) is never copied. */
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

/** One published verification key: the public members, `kid`, `alg` and `use: "sig"`. */
export type PublicJwk = JWK & { kid: string; alg: string; use: "sig" };

/**
 * The JWK Set (RFC 7517) of the published verification keys: the one place
 * that decides what of a stored key is published, for every surface (the
 * JWKS route, GetJwks and the Stytch dialect).
 */
export function toJwks(keys: readonly PublicKey[], extra: Pick<JWK, "key_ops"> = {}): { keys: PublicJwk[] } {
  return {
    keys: keys.map(({ kid, alg, jwk }) => {
      const out: PublicJwk = { kid, alg, use: "sig", ...extra };
      for (const member of PUBLIC_MEMBERS) if (typeof jwk[member] === "string") out[member] = jwk[member];
      return out;
    }),
  };
}
