import type { RouteDeps, SessionServiceImpl } from "./deps.js";

/** SessionService.GetJwks: public keys only, never private parameters. */
export function getJwks(deps: RouteDeps): Pick<SessionServiceImpl, "getJwks"> {
  return {
    async getJwks() {
      return {
        keys: deps.keys.published().map(({ kid, alg, jwk }) => ({
          kty: jwk.kty ?? "",
          kid,
          use: "sig",
          alg,
          crv: jwk.crv ?? "",
          x: jwk.x ?? "",
          y: jwk.y ?? "",
          n: jwk.n ?? "",
          e: jwk.e ?? "",
        })),
      };
    },
  };
}
