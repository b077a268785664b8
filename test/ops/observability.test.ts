import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { backends } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";
import { parseMetrics, sampleValue } from "./metrics-text.js";
import { createReplica } from "./replica.js";

const SESSIONS = "tessera.sessions.v1.SessionService";

/** Runs `call`, expecting it to fail; returns the ConnectError. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const result = await call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  if (result === undefined) throw new Error("the call succeeded");
  return result;
}

describe.each(backends())("metrics and logs on %s", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    // trace: the most the app can log, so the secrets check sees every line it could ever write.
    // The secrets check rotates a key right after start: no minimum interval here.
    t = await startTestApp(backend, { LOG_LEVEL: "trace", KEY_ROTATION_MIN_INTERVAL_SECONDS: "0" });
  });
  afterAll(() => t?.close());

  const scrape = async () => {
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };

  it("GET /metrics counts RPCs and their latency by method and code, sessions created and revoked, and claims rejected by reason", async () => {
    const before = await scrape();
    const client = t.client("grpc");
    const created = await client.createSession({ userId: "metrics-user" });
    const credential = { case: "sessionToken" as const, value: created.sessionToken };
    expect((await failure(client.authenticateSession({ credential, sessionCustomClaims: { iss: "x" } }))).code).toBe(
      Code.InvalidArgument,
    );
    await failure(client.authenticateSession({ credential, sessionCustomClaims: { big: "x".repeat(5_000) } }));
    await failure(client.authenticateSession({ credential, sessionCustomClaims: { a: 1 }, expectedClaimsVersion: 7n }));
    await failure(client.createSession({ userId: "metrics-user", sessionCustomClaims: { sub: "x" } }));
    await client.revokeSession({ target: { case: "sessionToken", value: created.sessionToken } });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);

    const create = { method: `${SESSIONS}/CreateSession`, code: "ok" };
    const authInvalid = { method: `${SESSIONS}/AuthenticateSession`, code: "invalid_argument" };
    const authAborted = { method: `${SESSIONS}/AuthenticateSession`, code: "aborted" };
    expect(delta("tessera_rpc_requests_total", create)).toBe(1);
    expect(delta("tessera_rpc_requests_total", authInvalid)).toBe(2);
    expect(delta("tessera_rpc_requests_total", authAborted)).toBe(1);
    expect(delta("tessera_rpc_requests_total", { method: `${SESSIONS}/RevokeSession`, code: "ok" })).toBe(1);
    expect(delta("tessera_rpc_duration_seconds_count", create)).toBe(1);
    expect(delta("tessera_rpc_duration_seconds_count", authInvalid)).toBe(2);
    expect(delta("tessera_rpc_duration_seconds_bucket", { ...create, le: "+Inf" })).toBe(1);
    expect(delta("tessera_rpc_duration_seconds_sum", create)).toBeGreaterThan(0);
    expect(delta("tessera_claims_patches_rejected_total", { reason: "RESERVED_CLAIM" })).toBe(2);
    expect(delta("tessera_claims_patches_rejected_total", { reason: "CLAIMS_TOO_LARGE" })).toBe(1);
    expect(delta("tessera_claims_patches_rejected_total", { reason: "CLAIMS_VERSION_MISMATCH" })).toBe(1);
    expect(delta("tessera_sessions_created_total")).toBe(1);
    expect(delta("tessera_sessions_revoked_total")).toBe(1);
  });

  it("GET /metrics reports the database pool: connections in use and idle, and waiting queries", async () => {
    const samples = await scrape();
    const states = samples.filter((s) => s.name === "tessera_db_pool_connections").map((s) => s.labels.state);
    expect(states.sort()).toEqual(["idle", "in_use"]);
    const total =
      sampleValue(samples, "tessera_db_pool_connections", { state: "in_use" }) +
      sampleValue(samples, "tessera_db_pool_connections", { state: "idle" });
    expect(total).toBeGreaterThanOrEqual(1);
    expect(total).toBeLessThanOrEqual(t.app.config.databasePoolSize);
    expect(samples.some((s) => s.name === "tessera_db_pool_waiting")).toBe(true);
  });

  it("keeps metrics per app: a second app in the same process starts from zero", async () => {
    const other = await createReplica(t);
    try {
      await other.sessions.create({
        userId: "other",
        durationMinutes: 60,
        customClaims: {},
        attributes: { ipAddress: "", userAgent: "" },
        roles: [],
      });
      const mine = sampleValue(await scrape(), "tessera_sessions_created_total");
      expect(sampleValue(parseMetrics(await other.metrics.registry.metrics()), "tessera_sessions_created_total")).toBe(
        1,
      );
      expect(sampleValue(await scrape(), "tessera_sessions_created_total")).toBe(mine);
    } finally {
      await other.close();
    }
  });

  it("logs one JSON line per RPC with method, code, duration and the request id, echoed to the caller", async () => {
    const requestId = `req-${randomBytes(4).toString("hex")}`;
    let echoed: string | null = null;
    await t.client("connect").createSession(
      { userId: "log-user" },
      {
        headers: { "x-request-id": requestId },
        onHeader: (h) => {
          echoed = h.get("x-request-id");
        },
      },
    );
    await failure(
      t.client("grpc", null).listSessions({ userId: "log-user" }, { headers: { "x-request-id": `${requestId}-2` } }),
    );
    expect(echoed).toBe(requestId);
    const lines = t.logs.filter((l) => l.msg === "rpc" && String(l.request_id).startsWith(requestId));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      method: `${SESSIONS}/CreateSession`,
      code: "ok",
      request_id: requestId,
      level: 30,
    });
    expect(lines[1]).toMatchObject({ method: `${SESSIONS}/ListSessions`, code: "unauthenticated" });
    for (const line of lines) expect(typeof line.duration_ms).toBe("number");
  });

  it("never logs a session token, JWT, API key, signing key or claim value", async () => {
    const marker = () => `secret-${randomBytes(8).toString("hex")}`;
    const claimValues = [marker(), marker(), marker(), marker()];
    const wrongApiKey = `wrong-key-${randomBytes(12).toString("hex")}`;
    const client = t.client("grpc");
    const created = await client.createSession({
      userId: "secret-user",
      sessionCustomClaims: { plan: claimValues[0], nested: { deep: claimValues[1] } },
    });
    const byToken = { case: "sessionToken" as const, value: created.sessionToken };
    const patched = await client.authenticateSession({
      credential: byToken,
      sessionCustomClaims: { plan: claimValues[2] },
    });
    const byJwt = await client.authenticateSession({ credential: { case: "sessionJwt", value: created.sessionJwt } });
    await failure(client.authenticateSession({ credential: byToken, sessionCustomClaims: { iss: claimValues[3] } }));
    await failure(client.authenticateSession({ credential: { case: "sessionJwt", value: `${created.sessionJwt}x` } }));
    await failure(
      client.authenticateSession({ credential: { case: "sessionToken", value: `${created.sessionToken}x` } }),
    );
    await failure(t.client("grpc", wrongApiKey).listSessions({ userId: "secret-user" }));
    await createClient(AdminService, t.transport("grpc")).rotateSigningKey({});
    await client.revokeSession({ target: { case: "sessionToken", value: created.sessionToken } });

    const rows = await t.app.database.db.selectFrom("signing_keys").select(["private_jwk"]).execute();
    const privateParts = rows.map((row) => String((row.private_jwk as { d?: unknown }).d));
    const jwts = [created.sessionJwt, patched.sessionJwt, byJwt.sessionJwt];
    const secrets = [
      created.sessionToken,
      TEST_API_KEY,
      wrongApiKey,
      ...claimValues,
      ...privateParts,
      ...jwts,
      ...jwts.flatMap((jwt) => jwt.split(".").slice(1)), // payload and signature on their own
    ];
    const text = t.logText();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text.includes(secret), "a secret reached the log").toBe(false);
  });
});
