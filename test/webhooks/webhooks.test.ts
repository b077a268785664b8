import { toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { EventType } from "../../gen/tessera/events/v1/event_service_pb.js";
import {
  GetWebhookEndpointResponseSchema,
  ListWebhookEndpointsResponseSchema,
} from "../../gen/tessera/webhooks/v1/webhooks_pb.js";
import { expectFailure, MINUTE, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { useTestApp } from "../support/test-app.js";
import { startReceiver, type WebhookReceiver, waitFor } from "./webhook-receiver.js";
import { createSessions, FAST_WEBHOOKS, metricsText, sample, webhookClient } from "./webhook-support.js";

const T0 = new Date("2031-02-03T04:05:06.000Z");

describe.each(backends())("webhooks on %s", (backend) => {
  const clock = testClock(T0);
  const t = useTestApp(
    backend,
    { ...FAST_WEBHOOKS, SWEEP_INTERVAL_SECONDS: "0", JWT_TTL_SECONDS: "300", EVENT_RETENTION_SECONDS: "3900" },
    { clock },
  );
  const receivers: WebhookReceiver[] = [];
  const secrets: string[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** A receiver and an endpoint delivering to it. */
  async function endpointTo(mode: Parameters<typeof startReceiver>[0], eventTypes: EventType[] = []) {
    const receiver = await startReceiver(mode);
    receivers.push(receiver);
    const created = await webhookClient(t).createWebhookEndpoint({ url: receiver.url, eventTypes });
    receiver.secret = created.secret;
    secrets.push(created.secret);
    return { receiver, id: created.endpoint?.id ?? "" };
  }

  it("needs an API key", async () => {
    await expectFailure(webhookClient(t, null).listWebhookEndpoints({}), Code.Unauthenticated, "INVALID_API_KEY");
  });

  it("shows the secret on create only: never in Get or List", async () => {
    const created = await webhookClient(t).createWebhookEndpoint({
      url: "https://hooks.example.com/tessera?x=1",
      eventTypes: [EventType.SESSION_REVOKED],
      description: "billing",
    });
    secrets.push(created.secret);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const bytes = Buffer.from(created.secret.slice("whsec_".length), "base64").length;
    expect(bytes).toBeGreaterThanOrEqual(24);
    expect(bytes).toBeLessThanOrEqual(32);
    const id = created.endpoint?.id ?? "";
    expect(created.endpoint).toMatchObject({
      url: "https://hooks.example.com/tessera?x=1",
      eventTypes: [EventType.SESSION_REVOKED],
      description: "billing",
      enabled: true,
    });
    const got = await webhookClient(t).getWebhookEndpoint({ id });
    const listed = await webhookClient(t).listWebhookEndpoints({});
    expect(listed.endpoints.map((e) => e.id)).toContain(id);
    const secretPart = created.secret.slice("whsec_".length);
    expect(toJsonString(GetWebhookEndpointResponseSchema, got)).not.toContain(secretPart);
    expect(toJsonString(ListWebhookEndpointsResponseSchema, listed)).not.toContain(secretPart);
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("delivers each event after registration, signed, in cursor order, filtered by type", async () => {
    await createSessions(t, "before-registration", 1);
    const all = await endpointTo("up");
    const revokedOnly = await endpointTo("up", [EventType.SESSION_REVOKED]);
    const sessions = await createSessions(t, "ordered", 3);
    for (const sessionId of sessions.slice(0, 2)) {
      await t.client().revokeSession({ target: { case: "sessionId", value: sessionId } });
    }
    await waitFor("all five events", () => all.receiver.delivered().length >= 5);
    await waitFor("both revocations", () => revokedOnly.receiver.delivered().length >= 2);

    const got = all.receiver.received;
    expect(got.every((r) => r.verified)).toBe(true);
    expect(got.map((r) => r.body.type)).toEqual([
      "session.created",
      "session.created",
      "session.created",
      "session.revoked",
      "session.revoked",
    ]);
    expect(got.map((r) => r.body.data.session_id)).toEqual([...sessions, sessions[0], sessions[1]]);
    expect(got.some((r) => r.body.data.user_id === "before-registration")).toBe(false);
    expect(new Set(got.map((r) => r.id)).size).toBe(5);
    expect(got.map((r) => r.id)).toEqual(got.map((r) => `msg_${r.body.data.cursor}`));
    const revoked = revokedOnly.receiver.received;
    expect(revoked.every((r) => r.verified)).toBe(true);
    expect(revoked.map((r) => [r.body.type, r.body.data.session_id])).toEqual([
      ["session.revoked", sessions[0]],
      ["session.revoked", sessions[1]],
    ]);
    // The same event has the same webhook-id at every endpoint: it is derived from the cursor.
    expect(revoked.map((r) => r.id)).toEqual(got.slice(3).map((r) => r.id));
    expect(Object.keys(revoked[0]?.body.data ?? {}).sort()).toEqual([
      "claims_version",
      "cursor",
      "deny_until",
      "session_id",
      "user_id",
    ]);

    const view = await webhookClient(t).getWebhookEndpoint({ id: all.id });
    expect(view.endpoint?.delivery).toMatchObject({
      cursor: got.at(-1)?.body.data.cursor,
      consecutiveFailures: 0,
      lastError: "",
    });
    expect(view.endpoint?.delivery?.lastSuccessAt).toBeDefined();
    await webhookClient(t).deleteWebhookEndpoint({ id: all.id });
    await webhookClient(t).deleteWebhookEndpoint({ id: revokedOnly.id });
  });

  it("keeps retrying while the receiver is down or failing, then delivers everything once up, with the same ids", async () => {
    const { receiver, id } = await endpointTo("down");
    const sessions = await createSessions(t, "outage", 4);
    const state = async () => (await webhookClient(t).getWebhookEndpoint({ id })).endpoint?.delivery;
    await waitFor("connection refused, retried", async () => {
      const s = await state();
      return (s?.consecutiveFailures ?? 0) >= 2 && s?.lastError === "connect_refused";
    });
    expect((await state())?.nextAttemptAt).toBeDefined();
    await receiver.setMode("503");
    await waitFor("503 answers, retried", () => receiver.received.filter((r) => r.answered === 503).length >= 2);
    await waitFor("http_503 recorded", async () => (await state())?.lastError === "http_503");
    await receiver.setMode("up");
    await waitFor("every event delivered", () => receiver.delivered().length >= 4);

    const delivered = receiver.delivered();
    expect(delivered.map((r) => r.body.data.session_id)).toEqual(sessions);
    expect(new Set(delivered.map((r) => r.id)).size).toBe(4);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    // Every failed attempt was at the first event, and carried its id, as its delivery does.
    const failedIds = new Set(receiver.received.filter((r) => r.answered === 503).map((r) => r.id));
    expect([...failedIds]).toEqual([delivered[0]?.id]);
    const after = await state();
    expect(after).toMatchObject({ consecutiveFailures: 0, lastError: "" });
    expect(after?.nextAttemptAt).toBeUndefined();
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("times out a POST that never answers and retries it", async () => {
    const { receiver, id } = await endpointTo("hang");
    await createSessions(t, "hang", 1);
    await waitFor("a timeout recorded", async () => {
      const view = await webhookClient(t).getWebhookEndpoint({ id });
      return view.endpoint?.delivery?.lastError === "timeout";
    });
    await receiver.setMode("up");
    await waitFor("delivered after the timeouts", () => receiver.delivered().length >= 1);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("does not follow redirects: a 3xx is a failure, retried at the registered URL", async () => {
    const { receiver, id } = await endpointTo("302");
    await createSessions(t, "redirect", 1);
    await waitFor("http_302 recorded", async () => {
      const view = await webhookClient(t).getWebhookEndpoint({ id });
      return view.endpoint?.delivery?.lastError === "http_302";
    });
    await receiver.setMode("up");
    await waitFor("delivered", () => receiver.delivered().length >= 1);
    expect(new Set(receiver.received.map((r) => r.path))).toEqual(new Set(["/hooks"]));
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("signs later attempts with a rotated secret, shown once", async () => {
    const { receiver, id } = await endpointTo("up");
    const old = receiver.secret;
    await createSessions(t, "rotate-before", 1);
    await waitFor("the first event", () => receiver.delivered().length >= 1);
    const rotated = await webhookClient(t).rotateWebhookSecret({ id });
    secrets.push(rotated.secret);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(old);
    expect(rotated.endpoint?.id).toBe(id);
    receiver.secret = rotated.secret;
    await createSessions(t, "rotate-after", 1);
    await waitFor("the second event", () => receiver.delivered().length >= 2);
    const [before, after] = receiver.delivered();
    expect([before?.verifiesWith(old), before?.verifiesWith(rotated.secret)]).toEqual([true, false]);
    expect([after?.verifiesWith(old), after?.verifiesWith(rotated.secret)]).toEqual([false, true]);
    await expectFailure(
      webhookClient(t).rotateWebhookSecret({ id: "whe_unknown" }),
      Code.NotFound,
      "WEBHOOK_ENDPOINT_NOT_FOUND",
    );
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("stops delivering to a deleted endpoint", async () => {
    const deleted = await endpointTo("up");
    const control = await endpointTo("up");
    await createSessions(t, "before-delete", 1);
    await waitFor("first event at both", () => [deleted, control].every((e) => e.receiver.delivered().length >= 1));
    await webhookClient(t).deleteWebhookEndpoint({ id: deleted.id });
    await createSessions(t, "after-delete", 2);
    await waitFor("later events at the control", () => control.receiver.delivered().length >= 3);
    expect(deleted.receiver.received.map((r) => r.body.data.user_id)).toEqual(["before-delete"]);
    await expectFailure(
      webhookClient(t).getWebhookEndpoint({ id: deleted.id }),
      Code.NotFound,
      "WEBHOOK_ENDPOINT_NOT_FOUND",
    );
    await expectFailure(
      webhookClient(t).deleteWebhookEndpoint({ id: deleted.id }),
      Code.NotFound,
      "WEBHOOK_ENDPOINT_NOT_FOUND",
    );
    await webhookClient(t).deleteWebhookEndpoint({ id: control.id });
  });

  it("pauses a disabled endpoint and resumes from its cursor when enabled", async () => {
    const { receiver, id } = await endpointTo("up");
    const disabled = await webhookClient(t).updateWebhookEndpoint({ id, enabled: false });
    expect(disabled.endpoint?.enabled).toBe(false);
    const sessions = await createSessions(t, "paused", 2);
    const control = await endpointTo("up");
    await createSessions(t, "paused-control", 1);
    await waitFor("the control's event", () => control.receiver.delivered().length >= 1);
    expect(receiver.received).toHaveLength(0);
    await webhookClient(t).updateWebhookEndpoint({ id, enabled: true, eventTypes: { types: [] } });
    await waitFor("the backlog", () => receiver.delivered().length >= 3);
    expect(
      receiver
        .delivered()
        .map((r) => r.body.data.session_id)
        .slice(0, 2),
    ).toEqual(sessions);
    await webhookClient(t).deleteWebhookEndpoint({ id });
    await webhookClient(t).deleteWebhookEndpoint({ id: control.id });
  });

  it("delivers a backlog of several batches in cursor order", async () => {
    const { receiver, id } = await endpointTo("up", [EventType.SESSION_CREATED]);
    await webhookClient(t).updateWebhookEndpoint({ id, enabled: false });
    const sessions = await createSessions(t, "backlog", 45);
    await webhookClient(t).updateWebhookEndpoint({ id, enabled: true });
    await waitFor("the backlog", () => receiver.delivered().length >= 45);
    expect(receiver.delivered().map((r) => r.body.data.session_id)).toEqual(sessions);
    expect(receiver.received).toHaveLength(45);
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("refuses bad URLs, saying why, and unknown event types", async () => {
    const cases: Array<[string, RegExp]> = [
      ["", /url is required/],
      ["not a url", /not an absolute URL/],
      ["ftp://hooks.example.com/x", /must use http or https/],
      ["javascript:alert(1)", /must use http or https/],
      ["https://user:pass@hooks.example.com/x", /user name or password/],
      ["https://hooks.example.com/x#frag", /fragment/],
      [`https://hooks.example.com/${"a".repeat(2_048)}`, /longer than 2048/],
      [" https://hooks.example.com/x", /whitespace/],
    ];
    for (const [url, why] of cases) {
      const refused = await expectFailure(
        webhookClient(t).createWebhookEndpoint({ url }),
        Code.InvalidArgument,
        "INVALID_WEBHOOK_URL",
      );
      expect(refused.message).toMatch(why);
      expect(refused.metadata.field).toBe("url");
    }
    await expectFailure(
      webhookClient(t).createWebhookEndpoint({ url: "https://hooks.example.com/x", eventTypes: [99 as EventType] }),
      Code.InvalidArgument,
      "INVALID_REQUEST_FIELD",
    );
    const ok = await webhookClient(t).createWebhookEndpoint({ url: "https://hooks.example.com/ok" });
    secrets.push(ok.secret);
    const id = ok.endpoint?.id ?? "";
    await expectFailure(
      webhookClient(t).updateWebhookEndpoint({ id, url: "http://a:b@hooks.example.com/" }),
      Code.InvalidArgument,
      "INVALID_WEBHOOK_URL",
    );
    expect((await webhookClient(t).getWebhookEndpoint({ id })).endpoint?.url).toBe("https://hooks.example.com/ok");
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("jumps over events swept before delivery, counting the gap, and keeps delivering", async () => {
    // Session creations only: the sweep itself writes session_expired events, after the horizon.
    const { receiver, id } = await endpointTo("503", [EventType.SESSION_CREATED]);
    await createSessions(t, "swept", 2);
    await waitFor("a failed attempt", () => receiver.received.length >= 1);
    // Past EVENT_RETENTION_SECONDS: the sweeper deletes both events before they were delivered.
    clock.advance(2 * 60 * MINUTE);
    await t.app.sweeper.sweepOnce();
    const [later] = await createSessions(t, "after-sweep", 1);
    await receiver.setMode("up");
    await waitFor("the event after the sweep", () =>
      receiver.delivered().some((r) => r.body.data.session_id === later),
    );
    expect(receiver.delivered().map((r) => r.body.data.user_id)).toEqual(["after-sweep"]);
    expect(sample(await metricsText(t), "tessera_webhook_gaps_total", { endpoint: id })).toBe(1);
    expect(t.logs.some((l) => l.endpoint === id && String(l.msg).includes("EVENT_RETENTION_SECONDS"))).toBe(true);
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("reports deliveries in /metrics, by endpoint id and result, never by URL", async () => {
    const { receiver, id } = await endpointTo("503");
    await createSessions(t, "metrics", 1);
    await waitFor("a failure", () => receiver.received.length >= 1);
    await waitFor("failing endpoint in the gauge", async () => {
      return sample(await metricsText(t), "tessera_webhook_endpoints_failing") >= 1;
    });
    await receiver.setMode("up");
    await waitFor("delivered", () => receiver.delivered().length >= 1);
    const metrics = await metricsText(t);
    expect(sample(metrics, "tessera_webhook_deliveries_total", { endpoint: id, result: "success" })).toBe(1);
    expect(
      sample(metrics, "tessera_webhook_deliveries_total", { endpoint: id, result: "failure" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, "tessera_webhook_delivery_duration_seconds_count", { result: "success" })).toBeGreaterThan(
      0,
    );
    expect(metrics).toContain(`tessera_webhook_lag_seconds{endpoint="${id}"} 0`);
    expect(metrics).not.toContain(receiver.url);
    await webhookClient(t).deleteWebhookEndpoint({ id });
  });

  it("never logs a secret or a receiver's answer", () => {
    expect(secrets.length).toBeGreaterThan(5);
    const text = t.logText();
    for (const secret of secrets) expect(text).not.toContain(secret.slice("whsec_".length));
    expect(text).not.toContain("the receiver's own error text");
    expect(t.logs.some((l) => l.msg === "webhook endpoint created" && typeof l.endpoint === "string")).toBe(true);
    expect(text).not.toContain("hooks.example.com");
    expect(t.logs.some((l) => l.msg === "webhook delivery failed; will retry")).toBe(true);
  });
});
