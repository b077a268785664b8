import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Webhook delivery metrics; labels are bounded (result, endpoint id), never a URL. */
export interface WebhookMetrics {
  /** Counts a POST by endpoint and result (success, failure) and observes its latency. */
  delivered(endpoint: string, result: "success" | "failure", seconds: number): void;
  /** Counts a jump of an endpoint's cursor over events swept before they were delivered. */
  gap(endpoint: string): void;
  /** Sets how old the oldest event not yet delivered to an endpoint is (0 when caught up). */
  lag(endpoint: string, seconds: number): void;
  /** Sets whether an endpoint has a retry pending (its last attempt failed). */
  failing(endpoint: string, failing: boolean): void;
  /** Forgets an endpoint this server no longer delivers to (its series go, so labels stay bounded). */
  forget(endpoint: string): void;
}

/** Registers the webhook metrics in the app's registry. */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const deliveries = new Counter({
    name: "tessera_webhook_deliveries_total",
    help: "Webhook POSTs by endpoint id and result (success: a 2xx answer; failure: anything else or no answer).",
    labelNames: ["endpoint", "result"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "tessera_webhook_delivery_duration_seconds",
    help: "Webhook POST latency in seconds by result.",
    labelNames: ["result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const gaps = new Counter({
    name: "tessera_webhook_gaps_total",
    help: "Times an endpoint's cursor jumped over events swept (EVENT_RETENTION_SECONDS) before they were delivered.",
    labelNames: ["endpoint"] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: "tessera_webhook_lag_seconds",
    help: "Age of the oldest event not yet delivered to an endpoint (0 when caught up), by endpoint id.",
    labelNames: ["endpoint"] as const,
    registers: [registry],
  });
  const failingSet = new Set<string>();
  new Gauge({
    name: "tessera_webhook_endpoints_failing",
    help: "Endpoints this server delivers to whose last attempt failed (a retry is pending).",
    registers: [registry],
    collect() {
      this.set(failingSet.size);
    },
  });
  return {
    delivered(endpoint, result, seconds) {
      deliveries.inc({ endpoint, result });
      latency.observe({ result }, seconds);
    },
    gap: (endpoint) => gaps.inc({ endpoint }),
    lag: (endpoint, seconds) => lag.set({ endpoint }, Math.max(0, seconds)),
    failing(endpoint, failing) {
      if (failing) failingSet.add(endpoint);
      else failingSet.delete(endpoint);
    },
    forget(endpoint) {
      failingSet.delete(endpoint);
      for (const result of ["success", "failure"]) deliveries.remove({ endpoint, result });
      gaps.remove({ endpoint });
      lag.remove({ endpoint });
    },
  };
}
