import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { StytchHttpError } from "./stytch-error.js";

/** Public JWK members; nothing else of a stored key is ever published. */
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

/** GET /v1/sessions/jwks/:project_id: the keys that verify session JWTs. Needs no credentials. */
export function getJwks(deps: StytchDeps): StytchEndpoint {
  return {
    method: "GET",
    path: "/v1/sessions/jwks/:project_id",
    public: true,
    async handle({ params }) {
      if (params.project_id !== deps.projectId) {
        throw new StytchHttpError(404, "project_not_found", "no project with this project_id");
      }
      const keys = deps.keys.published().map(({ kid, alg, jwk }) => {
        const key: Record<string, unknown> = { kid, alg, use: "sig", key_ops: ["verify"] };
        for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) key[member] = jwk[member];
        return key;
      });
      return { keys };
    },
  };
}
