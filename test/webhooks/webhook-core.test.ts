import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import type { ChangeEvent } from "../../src/events/event.js";
import { createConcurrencyLimit } from "../../src/webhooks/concurrency-limit.js";
import { retryDelayMs } from "../../src/webhooks/webhook-backoff.js";
import { signWebhook, webhookBody } from "../../src/webhooks/webhook-message.js";
import { newWebhookSecret } from "../../src/webhooks/webhook-secret.js";
import { validWebhookUrl } from "../../src/webhooks/webhook-url.js";

const revoked: ChangeEvent = {
  position: { xid: 812n, id: 4411n },
  time: new Date("2031-01-02T03:04:05.678Z"),
  type: "session_revoked",
  sessionId: "session-1",
  userId: "user-1",
  claimsVersion: 3n,
  denyUntil: new Date("2031-01-02T03:10:05.000Z"),
  keyId: undefined,
  templateVersion: undefined,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (err) {
    return err instanceof ConfigError ? [...err.problems] : ["not a ConfigError"];
  }
}

describe("webhook config", () => {
  it("has documented defaults", () => {
    expect(parseConfig({})).toMatchObject({
      webhookMaxEndpoints: 50,
      webhookTimeoutMs: 10_000,
      webhookRetryBaseMs: 1_000,
      webhookRetryMaxMs: 3_600_000,
      webhookPollIntervalMs: 1_000,
      webhookMaxConcurrency: 16,
      webhookLeaseMs: 30_000,
    });
  });

  it("refuses values out of range and inconsistent ones, naming each variable", () => {
    expect(problemsOf({ WEBHOOK_MAX_ENDPOINTS: "0", WEBHOOK_TIMEOUT_MS: "5" })).toEqual([
      'WEBHOOK_MAX_ENDPOINTS must be an integer from 1 to 10000, got "0"',
      'WEBHOOK_TIMEOUT_MS must be an integer from 10 to 120000, got "5"',
    ]);
    expect(problemsOf({ WEBHOOK_RETRY_BASE_MS: "5000", WEBHOOK_RETRY_MAX_MS: "1000" })).toEqual([
      "WEBHOOK_RETRY_BASE_MS must not be larger than WEBHOOK_RETRY_MAX_MS",
    ]);
    expect(problemsOf({ WEBHOOK_LEASE_MS: "10000" })).toEqual([
      "WEBHOOK_LEASE_MS must be larger than WEBHOOK_TIMEOUT_MS",
    ]);
  });
});

describe("retryDelayMs (full jitter)", () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it("draws from [0, base * 2^(attempts-1)], capped at the maximum", () => {
    const top = (attempts: number) => retryDelayMs(attempts, policy, () => 0.999_999_9);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999]);
    expect(retryDelayMs(3, policy, () => 0)).toBe(0);
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(200);
  });

  it("stays finite and capped for huge attempt counts", () => {
    expect(retryDelayMs(1_000_000, policy, () => 0.999_999_9)).toBe(999);
  });
});

describe("webhook messages", () => {
  it("hold the event's ids and versions under Standard Webhooks' {type, timestamp, data}", () => {
    expect(JSON.parse(webhookBody(revoked))).toEqual({
      type: "session.revoked",
      timestamp: "2031-01-02T03:04:05.678Z",
      data: {
        cursor: "e1.812.4411",
        session_id: "session-1",
        user_id: "user-1",
        claims_version: "3",
        deny_until: "2031-01-02T03:10:05.000Z",
      },
    });
  });

  it("are signed so that standardwebhooks verifies them, with an id fixed by the event", () => {
    const secret = newWebhookSecret();
    const now = new Date();
    const first = signWebhook(revoked, secret, now);
    const again = signWebhook(revoked, secret, new Date(now.getTime() + 60_000));
    expect(first.id).toBe("msg_e1.812.4411");
    expect(again.id).toBe(first.id);
    expect(new Webhook(secret).verify(first.body, { ...first.headers })).toEqual(JSON.parse(first.body));
    expect(() => new Webhook(newWebhookSecret()).verify(first.body, { ...first.headers })).toThrow();
    expect(() => new Webhook(secret).verify(`${first.body} `, { ...first.headers })).toThrow();
  });

  it("use fresh 32-byte secrets", () => {
    const secrets = new Set(Array.from({ length: 50 }, newWebhookSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
  });
});

describe("validWebhookUrl", () => {
  it("accepts http and https URLs and returns them normalised", () => {
    expect(validWebhookUrl("https://Hooks.Example.com:443/a/../b?q=1")).toBe("https://hooks.example.com/b?q=1");
    expect(validWebhookUrl("http://127.0.0.1:8080/hook")).toBe("http://127.0.0.1:8080/hook");
  });

  it("refuses control characters the parser would drop silently", () => {
    expect(() => validWebhookUrl("https://hooks.example.com/a\tb")).toThrow(/whitespace or control/);
    expect(() => validWebhookUrl("https://hooks.example.com/a\nb")).toThrow(/whitespace or control/);
  });
});

describe("createConcurrencyLimit", () => {
  it("never runs more than its limit at once, and runs every task", async () => {
    const limit = createConcurrencyLimit(3);
    let running = 0;
    let peak = 0;
    const signal = new AbortController().signal;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 1));
          running -= 1;
          return i;
        }, signal),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("drops a waiting task whose signal aborts, without running it", async () => {
    const limit = createConcurrencyLimit(1);
    let release: () => void = () => {};
    const holding = limit.run(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      new AbortController().signal,
    );
    const controller = new AbortController();
    let ran = false;
    const waiting = limit.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort(new Error("shutdown"));
    await expect(waiting).rejects.toThrow("shutdown");
    release();
    await holding;
    expect(ran).toBe(false);
    // The slot is free again.
    await expect(limit.run(async () => "next", new AbortController().signal)).resolves.toBe("next");
  });
});
