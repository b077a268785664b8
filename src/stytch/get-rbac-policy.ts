import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";

/**
 * GET /v1/rbac/policy: the project's RBAC policy, as Stytch serves it; the SDK's `authenticateJwtLocal`
 * fetches it (and caches it five minutes) to decide an authorization_check locally.
 */
export function getRbacPolicy(deps: StytchDeps): StytchEndpoint {
  return {
    method: "GET",
    path: "/v1/rbac/policy",
    async handle() {
      const { policy } = await deps.rbac.get();
      return { policy };
    },
  };
}
