import type { ConnectRouter } from "@connectrpc/connect";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { authenticateSession } from "./authenticate-session.js";
import { createSession } from "./create-session.js";
import type { RouteDeps } from "./deps.js";
import { getJwks } from "./get-jwks.js";
import { listSessions } from "./list-sessions.js";
import { revokeSession } from "./revoke-session.js";
import { updateSessionClaims } from "./update-session-claims.js";
import { updateUserSessionsClaims } from "./update-user-sessions-claims.js";

const PUBLIC_PROCEDURES: ReadonlySet<string> = new Set([`${SessionService.typeName}/GetJwks`]);

/** Whether a procedure ("pkg.Service/Method") needs no API key: GetJwks, reflection and health. */
export function isPublicProcedure(procedure: string): boolean {
  return PUBLIC_PROCEDURES.has(procedure) || procedure.startsWith("grpc.");
}

/** Registers every SessionService RPC on the router. */
export function registerSessionService(router: ConnectRouter, deps: RouteDeps): void {
  router.service(SessionService, {
    ...createSession(deps),
    ...authenticateSession(deps),
    ...listSessions(deps),
    ...revokeSession(deps),
    ...getJwks(deps),
    ...updateSessionClaims(deps),
    ...updateUserSessionsClaims(deps),
  });
}
