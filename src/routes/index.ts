import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";
import { strictJsonIntegers } from "../rpc/strict-json-integers.js";
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
  registerMethods(router, SessionService, {
    ...createSession(deps),
    ...authenticateSession(deps),
    ...listSessions(deps),
    ...revokeSession(deps),
    ...getJwks(deps),
    ...updateSessionClaims(deps),
    ...updateUserSessionsClaims(deps),
  });
}

/** Registers each method on its own, so its JSON codec can refuse loosely written integers (see strictJsonIntegers). */
export function registerMethods<S extends DescService>(router: ConnectRouter, service: S, impl: ServiceImpl<S>): void {
  for (const name of Object.keys(service.method) as Array<keyof S["method"] & string>) {
    const method: DescMethod = service.method[name];
    // impl[name] implements exactly this method; TypeScript cannot pair the two through the index.
    router.rpc(method, impl[name] as never, strictJsonIntegers(method.input));
  }
}
