import { Code, createClient } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { WebhookService } from "../../gen/tessera/webhooks/v1/webhooks_pb.js";
import { spawnServer } from "../concurrency/server-process.js";
import { expectFailure } from "../rpc/helpers.js";
import { backends, createTestDatabase } from "../support/backends.js";
import { startTestApp, type TestApp, useTestApp } from "../support/test-app.js";
import { startReceiver, type WebhookReceiver, waitFor } from "./webhook-receiver.js";
import { createSessions, FAST_WEBHOOKS, webhookClient } from "./webhook-support.js";

describe.each(backends())("webhook delivery across restarts and replicas on %s", (backend) => {
  const receivers: WebhookReceiver[] = [];
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("keeps its retry state across a restart, and the new server completes delivery", async () => {
    const database = await createTestDatabase(backend);
    try {
      const receiver = await startReceiver("503");
      receivers.push(receiver);
      const first = await startTestApp(backend, FAST_WEBHOOKS, {}, undefined, database);
      const created = await webhookClient(first).createWebhookEndpoint({ url: receiver.url });
      receiver.secret = created.secret;
      const id = created.endpoint?.id ?? "";
      const sessions = await createSessions(first, "restart", 3);
      await waitFor("retries on the first server", async () => {
        const view = await webhookClient(first).getWebhookEndpoint({ id });
        return (view.endpoint?.delivery?.consecutiveFailures ?? 0) >= 3;
      });
      await first.close();
      const failuresBefore = receiver.received.length;

      const second = await startTestApp(backend, FAST_WEBHOOKS, {}, undefined, database);
      try {
        const view = await webhookClient(second).getWebhookEndpoint({ id });
        expect(view.endpoint?.delivery?.consecutiveFailures).toBeGreaterThanOrEqual(3);
        expect(view.endpoint?.delivery?.lastError).toBe("http_503");
        await receiver.setMode("up");
        await waitFor("every event delivered by the new server", () => receiver.delivered().length >= 3);
        expect(receiver.delivered().map((r) => r.body.data.session_id)).toEqual(sessions);
        expect(receiver.received.length).toBeGreaterThan(failuresBefore);
        expect(receiver.received.every((r) => r.verified)).toBe(true);
        // The event retried by both servers carried one webhook-id throughout.
        expect(new Set(receiver.received.filter((r) => r.answered === 503).map((r) => r.id))).toEqual(
          new Set([receiver.delivered()[0]?.id]),
        );
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});

describe.runIf(!!process.env.DATABASE_URL)("two replicas on one PostgreSQL database", () => {
  const backend = "postgres";
  const receivers: WebhookReceiver[] = [];
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("deliver each event once in normal operation: one replica holds the endpoint's lease", async () => {
    const database = await createTestDatabase(backend);
    try {
      const receiver = await startReceiver("up");
      receivers.push(receiver);
      const a = await startTestApp(backend, FAST_WEBHOOKS, {}, undefined, database);
      apps.push(a);
      const b = await startTestApp(backend, FAST_WEBHOOKS, {}, undefined, database);
      apps.push(b);
      const created = await webhookClient(a).createWebhookEndpoint({ url: receiver.url });
      receiver.secret = created.secret;
      const sessions = [...(await createSessions(a, "replica-a", 5)), ...(await createSessions(b, "replica-b", 5))];
      await waitFor("ten events", () => receiver.delivered().length >= 10);
      // Give a second deliverer (if there were one) time to send its copies before counting.
      await createSessions(b, "replica-marker", 1);
      await waitFor("the marker", () => receiver.delivered().length >= 11);
      expect(
        receiver.received
          .map((r) => r.body.data.session_id)
          .slice(0, 10)
          .sort(),
      ).toEqual([...sessions].sort());
      expect(receiver.received).toHaveLength(11);
      expect(a.app.webhookDispatcher.delivering() + b.app.webhookDispatcher.delivering()).toBe(1);
    } finally {
      for (const app of apps.splice(0)) await app.close();
      await database.drop();
    }
  });
});

/** Runs one statement on its own connection. */
async function queryOnce<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

describe.runIf(!!process.env.DATABASE_URL)("a replica killed while it holds an endpoint's lease", () => {
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("leaves the lease to expire; another replica then takes it and delivers the rest once, in order", async () => {
    const database = await createTestDatabase("postgres");
    const databaseUrl = database.env.DATABASE_URL as string;
    const victim = await spawnServer(databaseUrl, FAST_WEBHOOKS);
    let survivor: TestApp | undefined;
    try {
      const receiver = await startReceiver("up");
      receivers.push(receiver);
      const webhooks = createClient(WebhookService, victim.transport);
      const created = await webhooks.createWebhookEndpoint({ url: receiver.url });
      receiver.secret = created.secret;
      const id = created.endpoint?.id ?? "";
      const first = await victim.client().createSession({ userId: "lease-first", sessionDurationMinutes: 60 });
      await waitFor("the victim delivers the first event", () => receiver.delivered().length >= 1);
      // The cursor is stored before the victim dies, so nothing it delivered is owed again.
      await waitFor("the victim stores its cursor", async () => {
        const view = await webhooks.getWebhookEndpoint({ id });
        return view.endpoint?.delivery?.lastSuccessAt !== undefined;
      });
      victim.child.kill("SIGKILL");
      await victim.exited;
      const [lease] = await queryOnce<{ owner: string | null; held: boolean; until_ms: number }>(
        databaseUrl,
        "select lease_owner as owner, lease_until > now() as held, extract(epoch from lease_until) * 1000 as until_ms from webhook_endpoints",
      );
      expect(lease?.owner).not.toBeNull();
      expect(lease?.held).toBe(true);

      survivor = await startTestApp("postgres", FAST_WEBHOOKS, {}, undefined, database);
      const later = await createSessions(survivor, "lease-later", 2);
      await waitFor("the survivor delivers after the lease expires", () => receiver.delivered().length >= 3);
      expect(receiver.delivered().map((r) => r.body.data.session_id)).toEqual([first.session?.sessionId, ...later]);
      // The survivor waited for the dead replica's lease to run out (same host, same clock).
      expect(receiver.delivered()[1]?.arrivedAt).toBeGreaterThanOrEqual(Number(lease?.until_ms));
      expect(receiver.received.filter((r) => r.answered === 0 || r.answered >= 300)).toEqual([]);
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(receiver.received.length);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
      expect(survivor.app.webhookDispatcher.delivering()).toBe(1);
      const [taken] = await queryOnce<{ owner: string | null }>(
        databaseUrl,
        "select lease_owner as owner from webhook_endpoints",
      );
      expect(taken?.owner).not.toBeNull();
      expect(taken?.owner).not.toBe(lease?.owner);
    } finally {
      await survivor?.close();
      await victim.stop();
      await database.drop();
    }
  });
});

describe.each(backends())("webhook isolation and limits on %s", (backend) => {
  // A POST that never answers stays in flight for the whole test: the healthy endpoint must not wait for it.
  const t = useTestApp(backend, {
    ...FAST_WEBHOOKS,
    WEBHOOK_TIMEOUT_MS: "60000",
    WEBHOOK_LEASE_MS: "120000",
    WEBHOOK_MAX_ENDPOINTS: "3",
    WEBHOOK_MAX_CONCURRENCY: "4",
  });
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("delivers to a healthy endpoint while a slow one's POST hangs", async () => {
    const slow = await startReceiver("hang");
    const healthy = await startReceiver("up");
    receivers.push(slow, healthy);
    for (const receiver of [slow, healthy]) {
      const created = await webhookClient(t).createWebhookEndpoint({ url: receiver.url });
      receiver.secret = created.secret;
    }
    const sessions = await createSessions(t, "isolation", 5);
    await waitFor("the slow endpoint's first POST", () => slow.received.length >= 1);
    await waitFor("every event at the healthy endpoint", () => healthy.delivered().length >= 5);
    expect(healthy.delivered().map((r) => r.body.data.session_id)).toEqual(sessions);
    // Still stuck on its first POST, unanswered: the healthy endpoint never waited for it.
    expect(slow.received).toHaveLength(1);
    expect(slow.received[0]?.answered).toBe(0);
    // And the API answers meanwhile.
    expect((await t.client().createSession({ userId: "isolation-api" })).session?.sessionId).toBeTruthy();
  });

  it("refuses an endpoint over WEBHOOK_MAX_ENDPOINTS, saying so", async () => {
    const third = await webhookClient(t).createWebhookEndpoint({ url: "https://hooks.example.com/third" });
    const refused = await expectFailure(
      webhookClient(t).createWebhookEndpoint({ url: "https://hooks.example.com/fourth" }),
      Code.ResourceExhausted,
      "WEBHOOK_ENDPOINT_LIMIT_REACHED",
    );
    expect(refused.message).toContain("WEBHOOK_MAX_ENDPOINTS");
    expect(refused.metadata.limit).toBe("3");
    expect((await webhookClient(t).listWebhookEndpoints({})).endpoints).toHaveLength(3);
    await webhookClient(t).deleteWebhookEndpoint({ id: third.endpoint?.id ?? "" });
    const again = await webhookClient(t).createWebhookEndpoint({ url: "https://hooks.example.com/fourth" });
    expect(again.endpoint?.id).toMatch(/^whe_[0-9a-f]{32}$/);
  });
});

describe.each(backends())("webhook wake-ups on %s", (backend) => {
  // Polling is a minute apart, beyond the test's wait: only a NOTIFY can wake a caught-up delivery loop.
  const t = useTestApp(backend, { ...FAST_WEBHOOKS, WEBHOOK_POLL_INTERVAL_MS: "60000", WEBHOOK_LEASE_MS: "600000" });
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("delivers a new event as soon as its NOTIFY arrives", async () => {
    const receiver = await startReceiver("up");
    receivers.push(receiver);
    const created = await webhookClient(t).createWebhookEndpoint({ url: receiver.url });
    receiver.secret = created.secret;
    await waitFor("the endpoint's loop", () => t.app.webhookDispatcher.delivering() === 1);
    for (const round of [1, 2, 3]) {
      const [sessionId] = await createSessions(t, `notify-${round}`, 1);
      await waitFor(
        `event ${round}`,
        () => receiver.delivered().some((r) => r.body.data.session_id === sessionId),
        15_000,
      );
    }
    expect(receiver.delivered()).toHaveLength(3);
  });
});
