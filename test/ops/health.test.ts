import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/tessera/sessions/v1/error_detail_pb.js";
import { backends } from "../support/backends.js";
import { PROTOCOLS, useTestApp } from "../support/test-app.js";

const SERVICES = [
  "",
  "tessera.sessions.v1.SessionService",
  "tessera.users.v1.UserService",
  "tessera.admin.v1.AdminService",
  "tessera.events.v1.EventService",
  "tessera.webhooks.v1.WebhookService",
  "grpc.health.v1.Health",
];

describe.each(backends())("grpc.health.v1 and HTTP probes on %s", (backend) => {
  const t = useTestApp(backend);

  it.each(
    PROTOCOLS,
  )("Check answers SERVING for the server and every service over %s, without an API key", async (protocol) => {
    const health = createClient(Health, t.transport(protocol, null));
    for (const service of SERVICES) {
      expect((await health.check({ service })).status, service).toBe(Status.SERVING);
    }
  });

  it("Check of an unknown service fails with NOT_FOUND and reason SERVICE_NOT_FOUND", async () => {
    const health = createClient(Health, t.transport("grpc"));
    const err = await health.check({ service: "no.such.Service" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("SERVICE_NOT_FOUND");
  });

  it("List gives every service SERVING", async () => {
    const health = createClient(Health, t.transport("grpc"));
    const { statuses } = await health.list({});
    expect(Object.keys(statuses).sort()).toEqual([...SERVICES].sort());
    for (const status of Object.values(statuses)) expect(status.status).toBe(Status.SERVING);
  });

  it("Watch of an unknown service sends SERVICE_UNKNOWN and keeps the call open until cancelled", async () => {
    const health = createClient(Health, t.transport("grpc"));
    const controller = new AbortController();
    const stream = health.watch({ service: "no.such.Service" }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    const next = stream.next().then(
      () => "ended",
      (e: unknown) => ConnectError.from(e).code,
    );
    controller.abort();
    expect(await next).toBe(Code.Canceled);
  });

  it("GET /healthz and /readyz answer 200 while the database answers; other methods get 405", async () => {
    const healthz = await fetch(`${t.baseUrl}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toEqual({ status: "ok" });
    const readyz = await fetch(`${t.baseUrl}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ status: "ok", database: "ok" });
    const post = await fetch(`${t.baseUrl}/readyz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  // The last two tests break the app on purpose, so they run last.
  it("Watch streams SERVING, then NOT_SERVING; Check and /readyz follow while /healthz stays up", async () => {
    const health = createClient(Health, t.transport("grpc"));
    const controller = new AbortController();
    const stream = health.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);

    // The app's own database handle goes away: every query now fails, as when the server is unreachable.
    await t.app.database.close();

    expect((await stream.next()).value?.status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "tessera.sessions.v1.SessionService" })).status).toBe(Status.NOT_SERVING);
    const readyz = await fetch(`${t.baseUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: "unavailable", database: "unreachable" });
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    controller.abort();
  });

  it("closing the app ends open Watch calls cleanly instead of holding the shutdown", async () => {
    const health = createClient(Health, t.transport("grpc"));
    const stream = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await stream.next()).done).toBe(false);
    await t.close();
    expect((await stream.next()).done).toBe(true);
  });
});
