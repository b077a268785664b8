import type { AppContext } from "../context.js";
import type { HttpRequest, HttpResponse, HttpRoute } from "../http/http-route.js";
import { sendJson } from "../http/http-route.js";
import { toJwks } from "../keys/jwks.js";

/**
 * How long clients may cache the JWKS. Far below the retired-key window (JWT
 * lifetime + 1 h), so a cached copy never outlives a key it lacks for long;
 * verifiers that see an unknown kid refetch anyway.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

type Get = (req: HttpRequest, res: HttpResponse) => void | Promise<void>;

/** A route serving GET and HEAD on exactly `path`; other methods get 405. */
function getRoute(path: string, get: Get): HttpRoute {
  return {
    async handle(req, res, url) {
      if (url.pathname !== path) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendJson(res, 405, { error: "method not allowed" }, { allow: "GET, HEAD" });
        return true;
      }
      await get(req, res);
      return true;
    },
  };
}

/** JWKS, liveness, readiness and Prometheus metrics over plain HTTP on the service port. */
export function opsHttpRoutes(parts: AppContext): HttpRoute[] {
  return [
    getRoute("/.well-known/jwks.json", (_req, res) => {
      sendJson(res, 200, toJwks(parts.keys.published()), {
        "cache-control": `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
      });
    }),
    getRoute("/healthz", (_req, res) => {
      sendJson(res, 200, { status: "ok" }, { "cache-control": "no-store" });
    }),
    getRoute("/readyz", async (_req, res) => {
      const ready = await parts.health.serving();
      sendJson(
        res,
        ready ? 200 : 503,
        { status: ready ? "ok" : "unavailable", database: ready ? "ok" : "unreachable" },
        { "cache-control": "no-store" },
      );
    }),
    getRoute("/metrics", async (_req, res) => {
      const body = await parts.metricsText();
      res.writeHead(200, {
        "content-type": parts.metrics.registry.contentType,
        "content-length": String(Buffer.byteLength(body)),
        "cache-control": "no-store",
      });
      res.end(body);
    }),
  ];
}
