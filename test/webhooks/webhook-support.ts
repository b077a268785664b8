import { type Client, createClient } from "@connectrpc/connect";
import { WebhookService } from "../../gen/tessera/webhooks/v1/webhooks_pb.js";
import type { TestApp } from "../support/test-app.js";

/** Small delays, so failures, retries and timeouts happen within a test (tests never assert durations). */
export const FAST_WEBHOOKS: Record<string, string> = {
  WEBHOOK_TIMEOUT_MS: "300",
  WEBHOOK_RETRY_BASE_MS: "20",
  WEBHOOK_RETRY_MAX_MS: "200",
  WEBHOOK_POLL_INTERVAL_MS: "50",
  WEBHOOK_LEASE_MS: "3000",
};

/** A WebhookService client of the app. */
export function webhookClient(t: TestApp, apiKey?: string | null): Client<typeof WebhookService> {
  return createClient(WebhookService, t.transport("connect", apiKey));
}

/** Creates `count` sessions of `userId`, one event each; returns their ids. */
export async function createSessions(t: TestApp, userId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const created = await t.client().createSession({ userId, sessionDurationMinutes: 60 });
    ids.push(created.session?.sessionId ?? "");
  }
  return ids;
}

/** The app's /metrics text. */
export async function metricsText(t: TestApp): Promise<string> {
  const response = await fetch(`${t.baseUrl}/metrics`);
  return response.text();
}

/** The value of one sample in Prometheus text (0 when absent). */
export function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(name)) continue;
    const [series, value] = line.split(" ");
    const rest = series?.slice(name.length) ?? "";
    if (rest !== "" && !rest.startsWith("{")) continue;
    if (wanted.every((pair) => rest.includes(pair))) return Number(value);
  }
  return 0;
}
