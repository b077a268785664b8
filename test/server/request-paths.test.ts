import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, PROJECT_ID, type StytchTestApp, startStytchApp } from "../stytch/helpers.js";
import { backends } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";

interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/** GET `path` over HTTP/1.1 exactly as written: fetch() and URL would resolve dot segments first. */
function getH1(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: "GET", headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** GET `path` over h2c with `:path` exactly as written. */
function getH2(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const session = http2.connect(baseUrl);
  return new Promise<RawResponse>((resolve, reject) => {
    session.on("error", reject);
    const stream = session.request({ ":method": "GET", ":path": path, ...headers });
    let status = 0;
    let text = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("end", () => resolve({ status, text }));
    stream.on("error", reject);
    stream.end();
  }).finally(() => session.close());
}

const TRANSPORTS = { "HTTP/1.1": getH1, h2c: getH2 } as const;

/** Paths a proxy allowing only /v1/ (or only /healthz) would pass, but a URL parser reads as another path. */
const STYTCH_PATHS = [
  "/v1/%2e%2e/metrics",
  "/v1/%2E%2E/metrics",
  "/v1/%2e%2E/metrics",
  "/v1/.%2e/metrics",
  "/v1/%2e./metrics",
  "/v1/../metrics",
  "/v1/./sessions",
  "/v1/sessions/%2e",
  "/v1/%2e/sessions/jwks/x",
] as const;
const OTHER_PATHS = [
  // Not under /v1/ as sent ("/v1\"), but a WHATWG URL reads the backslashes as slashes: /v1/../metrics.
  "/v1\\..\\metrics",
  "/healthz/%2e%2e/metrics",
  "/healthz/../metrics",
  "/%2e%2e/metrics",
  "/./metrics",
  "/metrics/.",
];

describe.each(backends())("request paths are matched as sent on %s", (backend) => {
  let s: StytchTestApp;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  describe.each(Object.keys(TRANSPORTS) as Array<keyof typeof TRANSPORTS>)("over %s", (transport) => {
    const get = (path: string, headers?: Record<string, string>) => TRANSPORTS[transport](s.t.baseUrl, path, headers);

    it("serves the real paths", async () => {
      const metrics = await get("/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain("tessera_rpc_requests_total");
      const jwks = await get(`/v1/sessions/jwks/${PROJECT_ID}`);
      expect(jwks.status).toBe(200);
      const sessions = await get("/v1/sessions?user_id=path-user", { authorization: basic(PROJECT_ID, TEST_API_KEY) });
      expect(JSON.parse(sessions.text)).toMatchObject({ status_code: 200, sessions: [] });
    });

    it.each(STYTCH_PATHS)("refuses %s under /v1/ with a Stytch 400 bad_request, never metrics", async (path) => {
      const res = await get(path, { authorization: basic(PROJECT_ID, TEST_API_KEY) });
      expect(res.text).not.toContain("tessera_rpc_requests_total");
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ status_code: 400, error_type: "bad_request" });
    });

    it.each(OTHER_PATHS)("refuses %s with a JSON 400, never metrics", async (path) => {
      const res = await get(path);
      expect(res.text).not.toContain("tessera_rpc_requests_total");
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toStrictEqual({ error: expect.stringContaining("dot segments") });
    });

    it("does not decode other percent-encoding into a route: /v1/sess%69ons is not /v1/sessions", async () => {
      const res = await get("/v1/sess%69ons?user_id=u", { authorization: basic(PROJECT_ID, TEST_API_KEY) });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.text)).toMatchObject({ error_type: "route_not_found" });
    });
  });

  it("counts refused /v1/ paths under the route `unknown`, never by raw path", async () => {
    await getH1(s.t.baseUrl, "/v1/%2e%2e/metrics-label-probe");
    const metrics = await getH1(s.t.baseUrl, "/metrics");
    expect(metrics.text).not.toContain("metrics-label-probe");
    expect(metrics.text).toMatch(/tessera_rpc_requests_total\{method="GET unknown",code="invalid_argument"\} \d+/);
  });
});
