import type { AppContext } from "../context.js";
import {
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  isAmbiguousPath,
  type RequestTarget,
  sendJson,
} from "../http/http-route.js";
import type { Logger } from "../logger.js";
import type { RequestObserver } from "../rpc/request-observer.js";
import { authenticateSession } from "./authenticate-session.js";
import { createBasicAuthCheck } from "./basic-auth.js";
import { createSession } from "./create-session.js";
import { deleteUser } from "./delete-user.js";
import { getJwks } from "./get-jwks.js";
import { getRbacPolicy } from "./get-rbac-policy.js";
import { getSessions } from "./get-sessions.js";
import { getUser } from "./get-user.js";
import { readJsonObject } from "./read-json-body.js";
import { revokeSession } from "./revoke-session.js";
import type { StytchDeps, StytchEndpoint } from "./stytch-endpoint.js";
import { StytchHttpError, toStytchError } from "./stytch-error.js";
import { updateUser } from "./update-user.js";

/** Every endpoint of the Stytch-compatible surface. */
export function stytchEndpoints(deps: StytchDeps): StytchEndpoint[] {
  return [
    authenticateSession(deps),
    getSessions(deps),
    revokeSession(deps),
    getJwks(deps),
    createSession(deps),
    getUser(deps),
    updateUser(deps),
    deleteUser(deps),
    getRbacPolicy(deps),
  ];
}

/**
 * The Stytch-compatible REST surface under /v1/, on when STYTCH_PROJECT_ID is set.
 * It owns every /v1/ path (unknown ones answer a JSON 404) and no other.
 */
export function stytchHttpRoutes(parts: AppContext): HttpRoute[] {
  const projectId = parts.config.stytchProjectId;
  if (projectId === undefined) return [];
  const endpoints = stytchEndpoints({
    projectId,
    sessions: parts.sessions,
    users: parts.users,
    keys: parts.keys,
    timestampPrecision: parts.config.jwtProfile === "stytch" ? "seconds" : "milliseconds",
    rbac: parts.rbac,
  });
  const checkAuth = createBasicAuthCheck(projectId, parts.apiKeys);
  const maxBytes = parts.config.maxRequestBytes;
  return [
    {
      async handle(req, res, target) {
        if (target.pathname !== "/v1" && !target.pathname.startsWith("/v1/")) return false;
        await serve(req, res, target, {
          endpoints,
          checkAuth,
          maxBytes,
          logger: parts.logger,
          observer: parts.observer,
        });
        return true;
      },
    },
  ];
}

interface Surface {
  readonly endpoints: readonly StytchEndpoint[];
  readonly checkAuth: (header: string | undefined) => void;
  readonly maxBytes: number;
  readonly logger: Logger;
  readonly observer: RequestObserver;
}

async function serve(req: HttpRequest, res: HttpResponse, target: RequestTarget, surface: Surface): Promise<void> {
  const method = req.method ?? "GET";
  // The path is matched as sent: an ambiguous one matches nothing and is refused below.
  const ambiguous = isAmbiguousPath(target.pathname);
  const matches = surface.endpoints.flatMap((endpoint) => {
    const params = ambiguous ? undefined : matchPath(endpoint.path, target.pathname);
    return params === undefined ? [] : [{ endpoint, params }];
  });
  const match = matches.find((candidate) => candidate.endpoint.method === method);
  // Counted by route pattern, never by raw path, so metrics labels stay bounded.
  const route = match?.endpoint.path ?? "unknown";
  const observation = surface.observer.start(`${method} ${route}`, undefined, "request-id-");
  const requestId = observation.requestId;
  try {
    if (match === undefined) {
      if (ambiguous) {
        throw new StytchHttpError(400, "bad_request", "the path must not hold dot segments or backslashes");
      }
      if (matches.length === 0) throw new StytchHttpError(404, "route_not_found", "no route for this path");
      const allow = matches.map((candidate) => candidate.endpoint.method).join(", ");
      throw new StytchHttpError(405, "method_not_allowed", `${method} is not allowed here; use ${allow}`, { allow });
    }
    if (match.endpoint.public !== true) surface.checkAuth(req.headers.authorization);
    // The SDK sends a body with POST, PUT and DELETE (`{}` for a delete), none with GET.
    const body = method === "GET" ? {} : await readJsonObject(req, surface.maxBytes);
    const result = await match.endpoint.handle({ body, query: target.searchParams, params: match.params });
    sendJson(res, 200, { status_code: 200, request_id: requestId, ...result });
    observation.finish("ok", { surface: "stytch", status: 200 });
  } catch (err) {
    const { fields, code } = toStytchError(err, surface.logger, route, match?.endpoint.errorTypes);
    const headers = err instanceof StytchHttpError ? { ...err.headers } : {};
    // An unread body would otherwise keep an HTTP/1.1 connection busy; HTTP/2 resets just the stream.
    if (!req.complete && req.httpVersionMajor === 1) headers.connection = "close";
    sendJson(res, fields.status_code, { request_id: requestId, ...fields }, headers);
    observation.finish(code, { surface: "stytch", status: fields.status_code, error_type: fields.error_type });
  }
}

/** Matches a path against a pattern with `:name` segments; undefined when it does not match. */
function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of want.entries()) {
    const actual = got[index] ?? "";
    if (segment.startsWith(":")) {
      if (actual === "") return undefined;
      try {
        params[segment.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (segment !== actual) {
      return undefined;
    }
  }
  return params;
}
