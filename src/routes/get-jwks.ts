import { toJwks } from "../keys/jwks.js";
import type { RouteDeps, SessionServiceImpl } from "./deps.js";

/** SessionService.GetJwks: public keys only, never private parameters. */
export function getJwks(deps: RouteDeps): Pick<SessionServiceImpl, "getJwks"> {
  return {
    async getJwks() {
      return { keys: toJwks(deps.keys.published()).keys };
    },
  };
}
