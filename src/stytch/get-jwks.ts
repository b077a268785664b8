import { toJwks } from "../keys/jwks.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { StytchHttpError } from "./stytch-error.js";

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
      return toJwks(deps.keys.published(), { key_ops: ["verify"] });
    },
  };
}
